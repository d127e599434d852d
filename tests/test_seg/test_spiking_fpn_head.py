"""mmqsd.SpikingFPNHead: the spiking Semantic FPN decode head (QSD Sec. 5, Table 3)."""
import pytest
import torch
from torch import nn

from mmqsd.deploy import SpikeTrain, fuse_norms, randomize_statistics, to_spike_driven
from mmqsd.layers import IELIF, QuantConv2d
from mmqsd.models.decode_heads import SpikingFPNHead
from mmqsd.models.necks import SpikingConv, SpikingConvNorm

STRIDES = [4, 8, 16, 32]


def make_head(channels=8, num_classes=5, **kwargs):
    kwargs.setdefault('norm_cfg', dict(type='BN', requires_grad=True))
    return SpikingFPNHead(STRIDES, in_channels=[channels] * 4, in_index=[0, 1, 2, 3],
                          channels=channels, num_classes=num_classes, **kwargs)


def pyramid(height, width, channels=8, batch=2, dtype=torch.float32, seed=0):
    """Maps of a 4/8/16/32 pyramid for an ``height x width`` image (sizes as the backbone's)."""
    gen = torch.Generator().manual_seed(seed)
    maps, h, w = [], height, width
    for _ in range(5):  # stem 2, then 4, 8, 16, 32 (k3/k7 convs with 'same' padding)
        h, w = (h + 1) // 2, (w + 1) // 2
        maps.append((h, w))
    return [torch.randn(batch, channels, *hw, generator=gen, dtype=dtype) * 1.5 + 0.5
            for hw in maps[1:]]


def test_layout_follows_semantic_fpn():
    head = make_head()
    units = [[m for m in scale if isinstance(m, SpikingConvNorm)] for scale in head.scale_heads]
    assert [len(u) for u in units] == [1, 1, 2, 3]  # max(1, log2(s_i / s_0))
    for unit in (u for scale in units for u in scale):
        assert isinstance(unit.spiking_conv.neuron, IELIF) and isinstance(unit.bn, nn.BatchNorm2d)
        assert unit.spiking_conv.conv.weight_bits == 4 and unit.fusion_chains()
    assert isinstance(head.cls_neuron, IELIF)
    assert isinstance(head.conv_seg, QuantConv2d) and head.conv_seg.weight_bits == 8


@pytest.mark.parametrize('size', [(64, 64), (67, 45), (33, 97)])
def test_logits_at_stride_4_for_odd_sizes(size):
    head = make_head().eval()
    maps = pyramid(*size)
    logits = head(maps)
    assert logits.shape == (2, 5, *maps[0].shape[-2:])


def test_bits_are_configurable():
    head = make_head(weight_bits=2, cls_weight_bits=None, levels=2)
    assert head.conv_seg.weight_bits is None and head.cls_neuron.levels == 2
    assert all(u.conv.weight_bits == 2 for u in head.modules() if isinstance(u, SpikingConv))
    without_norm = make_head(norm_cfg=None)  # as mmcv's ConvModule without a norm
    assert isinstance(without_norm.scale_heads[0][0], SpikingConv)


def test_dropout_only_in_training():
    head = make_head(dropout_ratio=0.5)
    maps = pyramid(32, 32)
    head.eval()
    assert torch.equal(head(maps), head(maps))
    head.train()
    torch.manual_seed(0)
    first = head(maps)
    assert not torch.equal(first, head(maps))


def test_spike_trains_in_training_mode_are_refused():
    head = to_spike_driven(make_head()).train()
    with pytest.raises(RuntimeError, match='eval'):
        head(pyramid(32, 32))


def test_bn_fusion_is_exact_in_float64():
    torch.manual_seed(0)
    head = randomize_statistics(make_head().double(), seed=1).eval()
    maps = pyramid(40, 40, dtype=torch.float64)
    fused = fuse_norms(head)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert torch.allclose(fused(maps), head(maps), rtol=1e-9, atol=1e-9)


def test_spike_driven_head_accumulates_binary_spikes():
    torch.manual_seed(0)
    head = randomize_statistics(make_head().double(), seed=2).eval()
    maps = pyramid(40, 40, dtype=torch.float64)
    reference = head(maps)
    seen = []
    head = to_spike_driven(head)
    head.conv_seg.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    assert torch.allclose(head(maps), reference, rtol=1e-9, atol=1e-9)
    assert isinstance(seen[0], SpikeTrain) and set(seen[0].spikes.unique().tolist()) <= {0., 1.}


@pytest.mark.parametrize('kwargs,match', [
    (dict(act_cfg=dict(type='ReLU')), 'act_cfg'),
    (dict(conv_cfg=dict(type='Conv2d')), 'conv_cfg'),
])
def test_unused_mmseg_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_head(**kwargs)


@pytest.mark.parametrize('strides', [[4, 8, 16], [8, 4, 16, 32], [4, 8, 12, 32]])
def test_bad_strides_are_refused(strides):
    with pytest.raises(ValueError, match='feature_strides'):
        SpikingFPNHead(strides, in_channels=[8] * 4, in_index=[0, 1, 2, 3], channels=8,
                       num_classes=5)


def test_time_axis_is_refused_with_the_fix():
    head = make_head()
    with pytest.raises(ValueError, match="time_reduce='mean'"):
        head([m.unsqueeze(0) for m in pyramid(32, 32)])


def test_init_weights_are_xavier_for_every_conv_including_the_classifier():
    head = make_head(channels=32, num_classes=150)
    head.init_weights()
    for conv, fan in ((head.scale_heads[0][0].spiking_conv.conv, 32 * 9 + 32 * 9),
                      (head.conv_seg, 32 + 150)):
        bound = (6 / fan) ** 0.5  # Xavier-uniform bound
        assert conv.weight.abs().max() <= bound and conv.weight.std() > bound / 3
