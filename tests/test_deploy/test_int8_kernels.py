"""int8 synapse kernels (oneDNN and int_mm backends) and the inference-only folds."""
import copy

import pytest
import torch
import torch.nn.functional as F

from mmqsd.apis import init_model
from mmqsd.deploy import (fold_layer_scales, fold_padding_norm, max_relative_error,
                          randomize_statistics, to_integer_inference)
from mmqsd.layers import MLP, ConvBlock, RepConv, SepConv, TransformerBlock
from mmqsd.ops import counts_from_potential
from mmqsd.ops.int8_kernels import (Epilogue, Int8Conv2d, Int8Linear, onednn_available,
                                    use_int8_backend)

NEURON = dict(type='ie_lif', levels=4)
BACKENDS = ['int_mm'] + (['onednn'] if onednn_available() else [])


def _epilogue(out_channels, gen, levels=None):
    sign = torch.randint(0, 2, (out_channels, ), generator=gen) * 2 - 1
    scale = (torch.rand(out_channels, generator=gen) * 0.1 + 0.01) * sign
    return Epilogue(scale, torch.randn(out_channels, generator=gen), levels)


def _expected(acc64, epilogue, channel_dim):
    shape = [1] * acc64.dim()
    shape[channel_dim] = -1
    y = acc64 * epilogue.scale.double().view(shape) + epilogue.bias.double().view(shape)
    if epilogue.levels is None:
        return y
    return torch.floor(y + 0.5).clamp(0, epilogue.levels)


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('kernel,stride,padding,groups', [(3, 1, 1, 1), (3, 2, 1, 1),
                                                          (7, 1, 3, 6), ((1, 3), 1, (0, 1), 1)])
@pytest.mark.parametrize('levels', [None, 4])
def test_int8_conv_is_exact(backend, kernel, stride, padding, groups, levels):
    gen = torch.Generator().manual_seed(7)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    x = torch.randint(0, 5, (2, 6, 9, 11), generator=gen, dtype=torch.uint8)
    w = torch.randint(-8, 8, (6, 6 // groups, kh, kw), generator=gen, dtype=torch.int8)
    epilogue = _epilogue(6, gen, levels)
    conv = Int8Conv2d(w, (stride, stride), (ph, pw), (1, 1), groups)
    with use_int8_backend(backend):
        out = conv(x, epilogue)
    acc = F.conv2d(x.double(), w.double(), stride=stride, padding=(ph, pw), groups=groups)
    expected = _expected(acc, epilogue, 1)
    if levels is None:
        assert out.dtype == torch.float32
        assert max_relative_error(expected, out.double()) < 1e-6
    else:  # the neuron's counts: exactly the reference rounding (no exact ties here)
        assert out.dtype == torch.uint8 and torch.equal(out.double(), expected)
        assert out.max() == levels and out.min() == 0, 'test must reach both clamps'


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('levels', [None, 4])
def test_int8_linear_is_exact(backend, levels):
    gen = torch.Generator().manual_seed(3)
    x = torch.randint(0, 5, (37, 24), generator=gen, dtype=torch.uint8)
    w = torch.randint(-8, 8, (10, 24), generator=gen, dtype=torch.int8)
    epilogue = _epilogue(10, gen, levels)
    with use_int8_backend(backend):
        out = Int8Linear(w)(x, epilogue)
    expected = _expected(x.double() @ w.double().t(), epilogue, 1)
    tolerance = 1e-6 if levels is None else 0
    assert max_relative_error(expected, out.double()) <= tolerance


def test_counts_from_potential_rounds_half_up_and_clamps():
    y = torch.tensor([-3., 0.49, 0.5, 1.5, 2.5, 3.49, 3.5, 9.])
    assert counts_from_potential(y, 4).tolist() == [0, 0, 1, 2, 3, 3, 4, 4]


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match='unknown int8 backend'):
        with use_int8_backend('fbgemm'):
            pass


BLOCKS = {  # name: (factory, channels)
    'conv': (lambda: ConvBlock(8, NEURON, 4), 8),
    'sepconv': (lambda: SepConv(8, NEURON, 4), 8),
    'transformer': (lambda: TransformerBlock(16, 2, NEURON, 4, layer_scale_init=0.5), 16),
}


def _block_and_input(name, seed):
    factory, channels = BLOCKS[name]
    block = randomize_statistics(factory(), seed=seed).eval()
    return block, torch.randn(1, 2, channels, 6, 6) * 2


@pytest.mark.parametrize('name', sorted(BLOCKS))
@pytest.mark.parametrize('backend', BACKENDS)
def test_fused_neurons_match_unfused(name, backend):
    """Neurons run in their synapse's epilogue: same result as the separate neuron."""
    block, x = _block_and_input(name, seed=2)
    with torch.no_grad(), use_int8_backend(backend):
        separate = to_integer_inference(block, fuse_neurons=False)(x)
        fused_model = to_integer_inference(block)
        fused = fused_model(x)
    assert any(getattr(m, 'fused', False) for m in fused_model.modules())
    assert max_relative_error(block(x), fused) < 1e-5
    assert max_relative_error(separate, fused) < 1e-5


def test_repconv_padding_norm_folds_exactly():
    rep = randomize_statistics(RepConv(6, 5, 4), seed=3).eval().double()
    x = torch.rand(2, 6, 7, 7, dtype=torch.float64)
    expected = rep(x)
    fold_padding_norm(rep)
    assert isinstance(rep.bn_pad, torch.nn.Identity) and rep.dw.padding == (1, 1)
    assert max_relative_error(expected, rep(x)) < 1e-12


def test_layer_scales_fold_exactly():
    block = randomize_statistics(TransformerBlock(16, 2, NEURON, 4), seed=4).eval().double()
    with torch.no_grad():
        block.layer_scale1.uniform_(-1, 1)
        block.layer_scale2.uniform_(-1, 1)
    x = torch.randn(1, 2, 16, 4, 4, dtype=torch.float64)
    expected = block(x)
    from mmqsd.deploy import fuse_norms
    fused = fuse_norms(block)
    fold_layer_scales(fused)
    assert fused.layer_scale1 is None and fused.layer_scale2 is None
    assert max_relative_error(expected, fused(x)) < 1e-10


def test_mlp_integer_path_matches_multibit():
    mlp = randomize_statistics(MLP(8, NEURON, 4), seed=5).eval()
    x = torch.randn(1, 2, 8, 5, 5)
    assert max_relative_error(mlp(x), to_integer_inference(mlp)(x)) < 1e-5


def test_integer_model_can_be_copied_after_running():
    """oneDNN weight packs are caches: deepcopy / pickling skip them."""
    torch.manual_seed(0)
    model = init_model('configs/cls/qsd_t_in1k.py')
    randomize_statistics(model, seed=1)
    integer = to_integer_inference(model)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        first = integer(x, mode='tensor')
        again = copy.deepcopy(integer)(x, mode='tensor')
    assert torch.equal(first, again)


def test_spike_bytes_are_the_spike_train_with_steps_innermost():
    from mmqsd.ops import counts_to_spike_bytes, counts_to_spike_train
    counts = torch.randint(0, 5, (2, 3, 4, 5), dtype=torch.uint8).contiguous(
        memory_format=torch.channels_last)
    spikes = counts_to_spike_bytes(counts, 4)
    assert spikes.dtype == torch.uint8 and spikes.shape == (4, 2, 3, 4, 5)
    assert torch.equal(spikes, counts_to_spike_train(counts.float(), 4).to(torch.uint8))
    assert spikes.stride(0) == 1 and spikes.stride(2) == 4, 'steps innermost, then channels'
    assert torch.equal(spikes.sum(0), counts.long())


@pytest.mark.parametrize('name', ['conv', 'transformer'])
@pytest.mark.parametrize('backend', BACKENDS)
def test_integer_spike_driven_blocks_match_multibit(name, backend):
    """Binary uint8 spikes over b steps as adjacent channels of one int8 synapse."""
    from mmqsd.deploy import SpikeValueRecorder, to_spike_driven
    block, x = _block_and_input(name, seed=6)
    spiking = to_spike_driven(block, integer=True)
    with torch.no_grad(), use_int8_backend(backend), SpikeValueRecorder(spiking) as spikes:
        out = spiking(x)
    assert spikes.values == {0.0, 1.0}
    assert max_relative_error(block(x), out) < 1e-5


def test_float_fallback_of_int8_matmul_is_exact():
    """Shapes torch._int_mm rejects on CUDA go through an exact float GEMM."""
    from mmqsd.ops.int_gemm import matmul_via_float
    gen = torch.Generator().manual_seed(4)
    for k in (24, 2000):  # float32 and float64 accumulation
        a = torch.randint(-128, 128, (5, k), generator=gen, dtype=torch.int8)
        b = torch.randint(-128, 128, (k, 3), generator=gen, dtype=torch.int8)
        out = matmul_via_float(a, b)
        assert out.dtype == torch.int32
        assert torch.equal(out.long(), a.long() @ b.long())
