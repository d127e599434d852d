import pytest
import torch

from mmqsd.analysis import model_size
from mmqsd.models.backbones import QSDTransformer

TINY = dict(embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4, depths=(2, 1))

# Exact counts of the authors' QSD backbones (their released SDT-V2/QSD code, instantiated):
# SDT-v2 backbone + QSD layer scales; quantised conv weights.
BACKBONE_PARAMS = {'T': 14_751_208 + 4_512, 'M': 30_852_864 + 6_528, 'L': 54_709_248 + 8_704}


@pytest.mark.parametrize('stride,expected', [(1, (4, 8, 16, 16)), (2, (4, 8, 16, 32))])
def test_output_shapes_and_strides(stride, expected):
    model = QSDTransformer(TINY, out_indices=(0, 1, 2, 3), stage4_stride=stride)
    outs = model(torch.randn(2, 3, 64, 64))
    assert model.stage_strides == expected
    for out, dim, s in zip(outs, TINY['embed_dims'], expected):
        assert out.shape == (1, 2, dim, 64 // s, 64 // s)


def test_time_steps_and_time_reduce():
    model = QSDTransformer(TINY, time_steps=3, neuron='lif', time_reduce='mean', out_indices=(1, ))
    (out, ) = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 32, 4, 4)
    frames = model(torch.randn(2, 3, 3, 32, 32))[0]  # (B, T, C, H, W) input
    assert frames.shape == (2, 32, 4, 4)
    with pytest.raises(ValueError, match='time_steps'):
        model(torch.randn(2, 4, 3, 32, 32))


@pytest.mark.parametrize('arch', ['T', 'M', 'L'])
def test_parameter_counts_match_reference(arch):
    model = QSDTransformer(arch, mprf=False, weight_bits=4)
    assert model_size(model)['params'] == BACKBONE_PARAMS[arch]
    with_mprf = QSDTransformer(arch, mprf=True, weight_bits=None)
    d2, d3 = with_mprf.embed_dims[2:]
    assert model_size(with_mprf)['params'] == BACKBONE_PARAMS[arch] + 6 * (6 * d2 + 2 * d3)


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='XL'), 'unknown QSDTransformer arch'),
    (dict(arch=dict(embed_dims=[16, 32, 60, 96], num_heads=8)), 'not divisible by num_heads'),
    (dict(arch=dict(embed_dims=[16, 32, 64])), 'num_heads'),
    (dict(weight_bits=5.5), 'weight_bits'),
    (dict(weight_bits=1), 'weight_bits'),
    (dict(levels=0), 'levels'),
    (dict(neuron='relu'), 'unknown neuron'),
    (dict(out_indices=(4, )), 'out_indices'),
    (dict(stage4_stride=4), 'stage4_stride'),
    (dict(time_steps=0), 'time_steps'),
])
def test_bad_arguments_explain_the_fix(kwargs, match):
    kwargs = dict(dict(arch=TINY), **kwargs)
    with pytest.raises(ValueError, match=match):
        QSDTransformer(**kwargs)


def test_frozen_stages_and_norm_eval():
    model = QSDTransformer(TINY, frozen_stages=1, norm_eval=True)
    model.train()
    assert not any(p.requires_grad for p in model.stages[1].parameters())
    assert all(p.requires_grad for p in model.stages[2].parameters())
    assert not any(m.training for m in model.modules()
                   if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))


def test_backward_reaches_every_trainable_parameter():
    model = QSDTransformer(TINY, layer_scale_init=0.5)
    out = model(torch.randn(2, 3, 32, 32) * 3)[0]
    out.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing


def test_channels_last_option_gives_the_same_outputs():
    from mmqsd.deploy import randomize_statistics
    torch.manual_seed(0)
    arch = dict(embed_dims=[16, 32, 64, 80], num_heads=4, depths=(1, 1))
    plain = randomize_statistics(QSDTransformer(arch=arch), seed=3).eval()
    cl = QSDTransformer(arch=arch, channels_last=True).eval()
    cl.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32) * 2
    with torch.no_grad():
        out, out_cl = plain(x)[0], cl(x)[0]
    assert out.abs().max() > 0.1, 'the comparison must not be of zeros'
    assert torch.allclose(out, out_cl, rtol=1e-4, atol=1e-4)
