"""Exact integer inference (issue 10): int8 counts x int8 weights, int32 accumulation."""
import pytest
import torch
import torch.nn.functional as F

from mmqsd.apis import init_model
from mmqsd.deploy import (SpikeValueRecorder, max_relative_error, randomize_statistics,
                          to_integer_inference)
from mmqsd.deploy import Int8Synapse, SpikeCounts
from mmqsd.layers import QSDSA, ConvBlock, QuantConv1d, QuantConv2d, QuantLinear
from mmqsd.ops.int_gemm import conv_weight_to_cols, int8_conv2d

NEURON = dict(type='ie_lif', levels=4)


@pytest.mark.parametrize('kernel,stride,padding', [(3, 1, 1), (3, 2, 1), (1, 1, 0), (7, 2, 3)])
def test_int8_conv2d_is_exact(kernel, stride, padding):
    gen = torch.Generator().manual_seed(kernel + stride)
    x = torch.randint(0, 5, (2, 6, 9, 11), generator=gen, dtype=torch.int8)
    w = torch.randint(-8, 8, (5, 6, kernel, kernel), generator=gen, dtype=torch.int8)
    out = int8_conv2d(x, conv_weight_to_cols(w), (kernel, kernel), (stride, stride),
                      (padding, padding), (1, 1))
    ref = F.conv2d(x.double(), w.double(), stride=stride, padding=padding)
    assert out.dtype == torch.int32 and torch.equal(out.double(), ref)


@pytest.mark.parametrize('layer,shape', [
    (lambda: QuantConv2d(6, 5, 3, padding=1, weight_bits=4), (2, 3, 6, 7, 7)),
    (lambda: QuantConv2d(6, 6, 7, padding=3, groups=6, weight_bits=3), (2, 3, 6, 7, 7)),
    (lambda: QuantConv1d(6, 5, 1, weight_bits=2), (2, 3, 6, 10)),
    (lambda: QuantLinear(6, 5, weight_bits=8), (2, 3, 6)),
])
def test_quantised_layers_integer_path_matches_float(layer, shape):
    layer = layer().eval()
    counts = torch.randint(0, 5, shape, dtype=torch.int8)
    expected = layer(counts.float() / 4)
    out = Int8Synapse(layer)(SpikeCounts(counts.to(torch.uint8), 0.25))
    assert torch.allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('block', [lambda: ConvBlock(8, NEURON, 4), lambda: QSDSA(8, 2, NEURON, 4)])
def test_blocks_match_multibit(block):
    block = randomize_statistics(block()).eval()
    x = torch.randn(1, 2, 8, 6, 6)
    integer = to_integer_inference(block)
    assert max_relative_error(block(x), integer(x)) < 1e-5


@pytest.mark.parametrize('arch', ['T', 'M', 'L'])
def test_whole_classifiers_identical_predictions(arch):
    torch.manual_seed(0)
    model = init_model(f'configs/cls/qsd_{arch.lower()}_in1k.py')
    randomize_statistics(model, seed=1)
    x = torch.randn(4, 3, 64, 64) * 2
    integer = to_integer_inference(model)
    with torch.no_grad(), SpikeValueRecorder(integer) as counts:
        logits_int = integer(x, mode='tensor')
    logits = model(x, mode='tensor')
    assert max(counts.values) >= 2, 'neurons must fire (and at several levels)'
    assert torch.equal(logits.argmax(1), logits_int.argmax(1))
    assert max_relative_error(logits, logits_int) < 1e-4


@pytest.mark.parametrize('backend', ['onednn', 'int_mm'])
def test_whole_classifier_integer_forms_on_each_backend(backend):
    """Counts and binary spike trains, on oneDNN (x86 CPU) and on torch._int_mm."""
    from mmqsd.ops.int8_kernels import onednn_available, use_int8_backend
    if backend == 'onednn' and not onednn_available():
        pytest.skip('this PyTorch build has no oneDNN quantised ops')
    torch.manual_seed(0)
    model = init_model('configs/cls/qsd_t_in1k.py')
    randomize_statistics(model, seed=2)
    x = torch.randn(2, 3, 64, 64) * 2
    logits = model(x, mode='tensor')
    for spike_driven in (False, True):
        integer = to_integer_inference(model, spike_driven=spike_driven)
        with torch.no_grad(), use_int8_backend(backend), SpikeValueRecorder(integer) as values:
            out = integer(x, mode='tensor')
        assert (values.values == {0.0, 1.0}) if spike_driven else max(values.values) >= 2
        assert torch.equal(logits.argmax(1), out.argmax(1))
        assert max_relative_error(logits, out) < 1e-4


def test_verify_tool_checks_the_integer_spike_form():
    import importlib.util
    spec = importlib.util.spec_from_file_location('verify_tool',
                                                  'tools/deploy/verify_spike_driven.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    result = tool.main(['configs/cls/qsd_t_in1k.py', '--input-size', '32', '--batch-size', '1',
                        '--dtype', 'float32', '--integer'])
    assert result['integer'] and result['spike_values'] == [0.0, 1.0]
    assert result['max_rel_err'] < 1e-4
