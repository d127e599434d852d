import pytest
import torch

from mmqsd.deploy import FloatSynapse, Int8Synapse, SpikeTrain
from mmqsd.layers import QuantConv1d, QuantConv2d, QuantLinear
from mmqsd.ops import counts_to_spike_train


def test_step_initialised_before_first_use_even_in_eval():
    conv = QuantConv2d(3, 4, 3, weight_bits=4).eval()
    assert not bool(conv.step_initialized)
    conv(torch.randn(1, 3, 5, 5))
    assert bool(conv.step_initialized)
    expected = 2 * conv.weight.abs().flatten(1).mean(1) / 7 ** 0.5
    assert torch.allclose(conv.step_size, expected)


def test_loading_full_precision_weights_reinitialises_step():
    conv = QuantConv2d(3, 4, 1, weight_bits=3)
    conv(torch.randn(1, 3, 2, 2))
    fp_state = {'weight': torch.randn(4, 3, 1, 1) * 10, 'bias': torch.zeros(4)}
    conv.load_state_dict(fp_state)  # the step follows the loaded weights at once
    expected = 2 * fp_state['weight'].abs().flatten(1).mean(1) / 3 ** 0.5
    assert torch.allclose(conv.step_size, expected)
    conv(torch.randn(1, 3, 2, 2))
    assert torch.allclose(conv.step_size, 2 * fp_state['weight'].abs().flatten(1).mean(1) / 3 ** 0.5)


@pytest.mark.parametrize('layer,x', [
    (lambda: QuantConv2d(3, 5, 3, padding=1, weight_bits=2), torch.randn(2, 4, 3, 6, 6)),
    (lambda: QuantConv1d(3, 5, 1, weight_bits=3), torch.randn(2, 4, 3, 7)),
    (lambda: QuantLinear(3, 5, weight_bits=8), torch.randn(2, 4, 3)),
])
def test_multistep_input_and_integer_weights(layer, x):
    layer = layer()
    y = layer(x)
    assert y.shape[:2] == (2, 4)
    w = layer.effective_weight()
    ints = layer.integer_weight().float()
    assert torch.allclose(w, ints * layer.step_size.view(-1, *([1] * (w.dim() - 1))))
    qn, qp = -2 ** (layer.weight_bits - 1), 2 ** (layer.weight_bits - 1) - 1
    assert ints.min() >= qn and ints.max() <= qp


def test_spike_train_input_equals_multibit_input():
    layer = QuantConv2d(3, 4, 3, padding=1, weight_bits=4).double()
    counts = torch.randint(0, 5, (2, 3, 6, 6)).double()
    train = SpikeTrain(counts_to_spike_train(counts, 4), 0.25)
    assert torch.allclose(FloatSynapse(layer)(train), layer(counts / 4), atol=1e-12)


def test_freeze_and_fold_affine_keep_integers():
    conv = QuantConv2d(3, 4, 3, weight_bits=4).double().eval()
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    scale = torch.tensor([0.5, -2.0, 1.5, 3.0], dtype=torch.float64)
    shift = torch.tensor([0.1, 0.2, -0.3, 0.0], dtype=torch.float64)
    expected = conv(x) * scale.view(-1, 1, 1) + shift.view(-1, 1, 1)
    ints = conv.integer_weight()
    synapse = Int8Synapse(conv)
    synapse.fold_affine_(scale, shift)
    assert synapse.weight.dtype == torch.int8 and torch.equal(synapse.integer_weight(), ints)
    assert torch.allclose(synapse(x), expected, atol=1e-12)


def test_full_precision_layer():
    conv = QuantConv2d(2, 2, 1, weight_bits=None)
    assert not conv.quantized and conv.effective_weight() is conv.weight
    with pytest.raises(RuntimeError, match='full precision'):
        conv.integer_weight()
    with pytest.raises(ValueError, match='weight_bits'):
        QuantLinear(2, 2, weight_bits=1)


def test_step_is_initialised_outside_forward_and_tracing_sees_a_pure_function():
    """Issue 15: the first forward used to write the step inside forward, which broke
    torch.jit.trace (aten::fill_ INTERNAL ASSERT) and so mmengine's / mmpretrain's FLOP
    counters.  Tracing a fresh layer now works and records no write."""
    conv = QuantConv2d(3, 4, 3, weight_bits=4).eval()
    expected = 2 * conv.weight.abs().flatten(1).mean(1) / 7 ** 0.5
    assert torch.allclose(conv.step_size, expected)  # valid from construction on
    x = torch.randn(1, 3, 5, 5)
    traced = torch.jit.trace(conv, x)
    graph = str(traced.inlined_graph)
    assert 'fill_' not in graph and 'copy_' not in graph
    assert torch.allclose(traced(x), conv(x))
    # the pre-hook that re-derives the step before the first real call removes itself
    assert bool(conv.step_initialized) and not conv._forward_pre_hooks


def test_weights_redrawn_after_construction_get_their_own_step():
    conv = QuantConv2d(3, 4, 3, weight_bits=4)
    with torch.no_grad():
        conv.weight.mul_(10)  # e.g. an mmengine initialiser after build
    conv(torch.randn(1, 3, 5, 5))
    assert torch.allclose(conv.step_size, 2 * conv.weight.abs().flatten(1).mean(1) / 7 ** 0.5)


@pytest.mark.parametrize('layer,x', [
    (lambda: QuantConv2d(8, 6, 1, weight_bits=4), torch.randn(2, 3, 8, 5, 5)),
    (lambda: QuantConv1d(8, 6, 1, weight_bits=4), torch.randn(2, 3, 8, 7)),
])
def test_training_path_uses_public_ops_only(layer, x):
    """No private oneDNN op (aten::mkldnn_convolution) in the training form's 1x1 convs."""
    layer = layer()
    graph = str(torch.jit.trace(layer, x).inlined_graph)
    assert 'mkldnn' not in graph and 'aten::_convolution' in graph
