"""The int8 forward of spike-input training synapses equals the plain float ops."""
import copy

import pytest
import torch

from mmqsd.deploy import randomize_statistics
from mmqsd.layers import IELIF, LIF
from mmqsd.layers.quant import QuantConv1d, QuantConv2d
from mmqsd.models.backbones import QSDTransformer
from mmqsd.ops.int8_kernels import onednn_available
from mmqsd.ops.spike_synapse import (int8_training_available, mark_spikes, spike_norm,
                                     use_int8_training)

pytestmark = pytest.mark.skipif(not onednn_available(),
                                reason='the int8 training forward needs oneDNN (x86 CPU)')


def _rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


def _forward_backward(neuron, conv, v, enabled):
    v = v.detach().clone().requires_grad_()
    conv.zero_grad()
    with use_int8_training(enabled):
        y = conv(neuron(v))
    weights = torch.linspace(-1, 1, y.numel()).view_as(y)
    (y * weights).square().sum().backward()
    grads = [v.grad] + [p.grad for p in conv.parameters()]
    return y.detach(), grads


@pytest.mark.parametrize('neuron', [IELIF(4), IELIF(4, gain=4.0, norm=2.0), IELIF(3, norm=3.0),
                                    LIF()])
@pytest.mark.parametrize('layer, shape', [
    (dict(cls=QuantConv2d, args=(8, 12, 3), kw=dict(padding=1, bias=True)), (2, 3, 8, 7, 9)),
    (dict(cls=QuantConv2d, args=(8, 16, 3), kw=dict(stride=2, padding=1, bias=False)),
     (1, 2, 8, 9, 9)),
    (dict(cls=QuantConv2d, args=(8, 8, 7), kw=dict(padding=3, groups=8, bias=False)),
     (2, 2, 8, 9, 9)),
    (dict(cls=QuantConv1d, args=(8, 10, 1), kw=dict(bias=True)), (2, 3, 8, 11)),
])
def test_int8_forward_equals_float_conv_and_gradients(neuron, layer, shape):
    """Outputs and the gradients of the input, latent weights, LSQ step and bias agree with
    the plain F.conv2d / F.conv1d on the multi-bit spikes to 1e-5 (relative to the largest)."""
    torch.manual_seed(0)
    conv = layer['cls'](*layer['args'], weight_bits=4, **layer['kw'])
    v = torch.randn(shape) * 2
    y_int8, g_int8 = _forward_backward(neuron, conv, v, True)
    y_ref, g_ref = _forward_backward(neuron, conv, v, False)
    assert _rel(y_int8, y_ref) < 1e-5
    assert len(g_int8) == len(g_ref) >= 3
    for a, b in zip(g_int8, g_ref):
        assert _rel(a, b) < 1e-5


def test_int8_route_is_taken_only_for_marked_quantised_inputs(monkeypatch):
    calls = []
    real = torch.ops.onednn.qconv2d_pointwise

    def counting(*args):
        calls.append(1)
        return real(*args)

    import mmqsd.ops.int8_kernels as kernels
    monkeypatch.setattr(kernels.torch.ops.onednn, 'qconv2d_pointwise', counting, raising=False)
    conv = QuantConv2d(4, 4, 3, padding=1, weight_bits=4)
    spikes = IELIF(4)(torch.randn(1, 2, 4, 6, 6))
    assert spike_norm(spikes) == 4.0 and int8_training_available(spikes)
    conv(spikes)
    assert len(calls) == 1
    conv(spikes.clone())  # an unmarked tensor: real values, float conv
    changed = IELIF(4)(torch.randn(1, 2, 4, 6, 6))
    changed.mul_(0.3)  # no longer spikes: the mark no longer counts
    assert spike_norm(changed) is None
    conv(changed)
    full_precision = QuantConv2d(4, 4, 3, padding=1, weight_bits=None)
    full_precision(spikes)
    with use_int8_training(False):
        conv(spikes)
    with torch.autocast('cpu', torch.bfloat16):
        assert not int8_training_available(spikes)
    assert len(calls) == 1


def test_counts_beyond_uint8_take_the_float_route():
    """IE-LIF with more than 255 levels: its counts do not fit the uint8 inputs of the int8
    kernels, so the output is not marked and the conv equals the plain one."""
    torch.manual_seed(0)
    neuron, conv = IELIF(300), QuantConv2d(4, 4, 3, padding=1, weight_bits=4)
    spikes = neuron(torch.full((1, 1, 4, 5, 5), 400.0))  # saturated: count 300
    assert spike_norm(spikes) is None
    with use_int8_training(False):
        expected = conv(spikes.clone())
    assert torch.equal(conv(spikes), expected)
    assert spike_norm(IELIF(255)(torch.rand(1, 1, 4, 5, 5))) == 255.0


def test_marks_are_not_recorded_while_tracing():
    """Traced graphs (mmengine's FLOP counter, jit.trace) see the plain conv."""
    seen = []

    def fn(v):
        out = mark_spikes(v.clamp(0, 1), 1.0, 1)
        seen.append(spike_norm(out))
        return out
    torch.jit.trace(fn, torch.rand(2, 3), check_trace=False)
    assert seen == [None]
    fn(torch.rand(2, 3))
    assert seen == [None, 1.0]


def test_qsd_backbone_training_step_matches_plain_ops():
    """A whole (tiny) QSD-Transformer in training mode: loss and every parameter gradient
    agree with the plain PyTorch ops to 1e-5.

    BN is frozen (``norm_eval``): with batch statistics a rounding difference in the last
    ulp that moves one potential across a rounding threshold changes a spike count, hence
    the batch statistics of every later layer and so every spike after it; that chaos is
    the model's (float32 against float64 diverges the same way), not the int8 route's.
    """
    torch.manual_seed(0)
    model = QSDTransformer(arch=dict(embed_dims=[8, 16, 32, 48], num_heads=2, mlp_ratio=2,
                                     depths=(1, 1)), out_indices=(1, 3), norm_eval=True)
    randomize_statistics(model)
    model.train()
    images = torch.randn(2, 3, 32, 32)
    results = {}
    for enabled in (True, False):
        replica = copy.deepcopy(model)
        with use_int8_training(enabled):
            loss = sum(o.float().square().mean() for o in replica(images))
        loss.backward()
        results[enabled] = (loss.detach(), {n: p.grad for n, p in replica.named_parameters()},
                            None)
    (loss_a, grads_a, _), (loss_b, grads_b, _) = results[True], results[False]
    assert _rel(loss_a, loss_b) < 1e-5
    assert grads_a.keys() == grads_b.keys() and len(grads_a) > 20
    for name in grads_a:
        if grads_b[name] is None:
            assert grads_a[name] is None
            continue
        assert _rel(grads_a[name], grads_b[name]) < 1e-5, name
