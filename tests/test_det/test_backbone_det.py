"""The QSD backbone as mmdet uses it: 4 maps at strides 4/8/16/32 for every arch."""
import pytest
import torch

from mmqsd.models.backbones import ARCH_SETTINGS, QSDTransformer

DET_ARGS = dict(out_indices=(0, 1, 2, 3), stage4_stride=2, time_reduce='mean')


@pytest.mark.parametrize('arch', sorted(ARCH_SETTINGS))
def test_multiscale_outputs_for_every_arch(arch):
    model = QSDTransformer(arch, **DET_ARGS).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 96))
    assert model.stage_strides == (4, 8, 16, 32)
    for out, dim, stride in zip(outs, ARCH_SETTINGS[arch]['embed_dims'], model.stage_strides):
        assert out.shape == (1, dim, 64 // stride, 96 // stride)


def test_out_indices_select_stages():
    tiny = dict(embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4, depths=(2, 1))
    model = QSDTransformer(tiny, **dict(DET_ARGS, out_indices=(1, 3)))
    outs = model(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 8, 8), (2, 96, 2, 2)]
