"""Exact integer kernels on CUDA: ``torch._int_mm``, the im2col conv and the int8 synapses.

On a GPU the integer forms run on the ``'int_mm'`` backend (:mod:`mmqsd.ops.int8_kernels`):
int8 GEMMs on ``torch._int_mm`` where CUDA takes the shape (more than 16 rows, ``K`` and
``N`` multiples of 8), an exact float GEMM elsewhere.  Both must give the CPU's integers
bit for bit, also with TF32 on (PyTorch's default for cuDNN convolutions, which the
grouped convolutions and the float GEMM fallback go through): integer operands below 2^11
are exact in TF32.  Skipped without CUDA (see conftest.py).
"""
import pytest
import torch
import torch.nn.functional as F

from mmqsd.deploy import Int8Synapse, SpikeCounts, SpikeTrain
from mmqsd.layers import QuantConv1d, QuantConv2d, QuantLinear
from mmqsd.ops import counts_to_spike_bytes
from mmqsd.ops.int8_kernels import int8_backend, use_int8_backend
from mmqsd.ops.int_gemm import conv_weight_to_cols, int8_conv2d, int8_matmul, int_mm_supports


@pytest.fixture
def tf32(device):
    """TF32 on for convolutions and matmuls (the ``device`` fixture restores the flags)."""
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    return device


def test_auto_backend_is_int_mm_on_the_device(device):
    if device.type == 'cuda':
        assert int8_backend(device) == 'int_mm'
        assert int8_backend(device, torch.bfloat16) == 'int_mm'


@pytest.mark.parametrize('m,k,n,route', [
    (64, 72, 24, 'int_mm'),  # the shapes CUDA's _int_mm takes
    (17, 8, 8, 'int_mm'),  # smallest row count it takes
    (16, 64, 24, 'float'),  # <= 16 rows: exact float32 GEMM
    (40, 12, 16, 'float'),  # K not a multiple of 8
    (20, 1040, 8, 'float'),  # K * 128^2 >= 2^24: float64 fallback
])
def test_int8_matmul_is_exact_on_every_route(tf32, m, k, n, route):
    device = tf32
    gen = torch.Generator().manual_seed(m + k + n)
    a = torch.randint(-128, 128, (m, k), generator=gen, dtype=torch.int8)
    b = torch.randint(-128, 128, (k, n), generator=gen, dtype=torch.int8)
    a_dev, b_dev = a.to(device), b.to(device)
    if device.type == 'cuda':
        assert int_mm_supports(a_dev, b_dev) == (route == 'int_mm')
    out = int8_matmul(a_dev, b_dev)
    assert out.dtype == torch.int32 and out.device.type == device.type
    assert torch.equal(out.cpu().double(), a.double() @ b.double())


@pytest.mark.parametrize('channels,kernel,stride,padding', [
    (8, 3, 1, 1), (8, 3, 2, 1), (16, 1, 1, 0), (8, 7, 2, 3), (6, 3, 1, 1)])
def test_int8_conv2d_equals_cpu(tf32, channels, kernel, stride, padding):
    device = tf32
    gen = torch.Generator().manual_seed(channels * kernel + stride)
    x = torch.randint(0, 5, (2, channels, 9, 11), generator=gen, dtype=torch.int8)
    w = torch.randint(-8, 8, (16, channels, kernel, kernel), generator=gen, dtype=torch.int8)
    args = (kernel, kernel), (stride, stride), (padding, padding), (1, 1)
    out = int8_conv2d(x.to(device), conv_weight_to_cols(w).to(device), *args)
    ref = F.conv2d(x.double(), w.double(), stride=stride, padding=padding)
    assert out.dtype == torch.int32 and torch.equal(out.cpu().double(), ref)


LAYERS = {
    'conv3x3': (lambda: QuantConv2d(8, 16, 3, padding=1, weight_bits=4), (2, 3, 8, 7, 7)),
    'conv3x3_s2_6ch': (lambda: QuantConv2d(6, 8, 3, 2, 1, weight_bits=4), (2, 3, 6, 7, 7)),
    'pointwise': (lambda: QuantConv2d(16, 24, 1, weight_bits=4), (2, 3, 16, 5, 5)),
    'depthwise7x7': (lambda: QuantConv2d(8, 8, 7, padding=3, groups=8, weight_bits=3),
                     (2, 3, 8, 7, 7)),
    'conv1d': (lambda: QuantConv1d(8, 16, 1, weight_bits=2), (2, 3, 8, 10)),
    'linear': (lambda: QuantLinear(16, 8, weight_bits=8), (4, 6, 16)),
}


def _synapse_outputs(layer, counts, device, gain, spike_driven):
    """The synapse's output for ``counts`` on ``device`` (int_mm backend), as a CPU tensor;
    with a ``gain``, the counts of an IE-LIF (b = 4) fused into it."""
    synapse = Int8Synapse(layer).to(device)
    fused = gain is not None
    if fused:
        synapse.fuse_neuron(levels=4, gain=gain, norm=4.0)
    counts = counts.to(device)
    x = SpikeTrain(counts_to_spike_bytes(counts, 4), 0.25) if spike_driven \
        else SpikeCounts(counts, 0.25)
    with torch.no_grad(), use_int8_backend('int_mm'):
        out = synapse(x)
    if fused:
        assert isinstance(out, SpikeCounts) and out.values.dtype == torch.uint8
        return out.values.cpu()
    return out.cpu()


@pytest.mark.parametrize('name', sorted(LAYERS))
@pytest.mark.parametrize('fused', [False, True])
@pytest.mark.parametrize('spike_driven', [False, True])
def test_int8_synapses_equal_cpu_bit_for_bit(tf32, name, fused, spike_driven):
    """Integer sums, float epilogue and fused IE-LIF counts: the same numbers as the CPU's
    int_mm backend, for counts and for binary spike trains (steps as channels)."""
    device = tf32
    torch.manual_seed(0)
    build, shape = LAYERS[name]
    layer = build().eval()
    layer(torch.zeros(shape))  # the LSQ step's first-call initialisation
    counts = torch.randint(0, 5, shape, dtype=torch.uint8)
    with torch.no_grad():
        reference = layer(counts.float() / 4)
    gain = 8 / float(reference.max()) if fused else None  # counts reach both clamps
    expected = _synapse_outputs(layer, counts, torch.device('cpu'), gain, spike_driven)
    out = _synapse_outputs(layer.to(device), counts, device, gain, spike_driven)
    assert out.dtype == expected.dtype and torch.equal(out, expected)
    if fused:
        assert int(out.max()) == 4 and int(out.min()) == 0, 'test must reach both clamps'
    else:  # and both equal the float layer up to float32 rounding
        assert torch.allclose(out, reference, rtol=1e-5, atol=1e-5)
