"""Necks and heads refuse maps of other channels than they were built for, naming the key.

Issue 14 item 5: ``configs/det/qsd_t_maskrcnn_demo.py`` with
``model.backbone.arch.embed_dims=[32,64,128,192]`` died inside a conv with
"expected input ... to have 16 channels, but got 32".
"""
import os.path as osp

import pytest
import torch
from mmengine.registry import DefaultScope

from mmqsd.apis import build_model_from_config
from mmqsd.models.decode_heads import SpikingFPNHead
from mmqsd.models.heads import QSDClsHead
from mmqsd.models.input_checks import check_input_channels
from mmqsd.models.necks import SpikingFPN, SpikingNormFPN

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')
WIDE = [32, 64, 128, 192]


def maps(channels, size=32, lead=(1, )):
    return [torch.rand(*lead, c, size // 2**i, size // 2**i) for i, c in enumerate(channels)]


@pytest.mark.parametrize('config', ['det/qsd_t_maskrcnn_demo.py', 'seg/qsd_t_fpn_demo.py'])
def test_the_issue_input_names_the_neck_key(config):
    """The demo model with the widened backbone, built without the pre-flight."""
    model = build_model_from_config(osp.join(CONFIGS, config),
                                     {'model.backbone.arch.embed_dims': WIDE})
    with pytest.raises(ValueError, match=r'SpikingN?o?r?m?FPN received feature maps with '
                       r'channels \[32, 64, 128, 192\] but was built for in_channels='
                       r'\[16, 32, 64, 96\]: set model\.neck\.in_channels=\[32, 64, 128, 192\]'):
        model.extract_feat(torch.rand(1, 3, 64, 64))


@pytest.mark.parametrize('neck_cls, lead', [
    (SpikingFPN, (2, )), (SpikingFPN, (2, 1)),  # (B, C, H, W) and (T, B, C, H, W)
    (SpikingNormFPN, (2, ))])
def test_necks_check_every_level(neck_cls, lead):
    neck = neck_cls([8, 16, 24, 32], 8, 4)
    neck(maps([8, 16, 24, 32], lead=lead))
    with pytest.raises(ValueError, match=r'channels \[8, 16, 20, 32\].*in_channels=\[8, 16, 20, '
                       r"32\] \(model\.neck\.in_channels must equal the backbone's output"):
        neck(maps([8, 16, 20, 32], lead=lead))


def test_neck_refuses_bad_channel_arguments():
    with pytest.raises(ValueError, match='must be positive ints'):
        SpikingFPN([8, 0, 24], 8, 3)
    with pytest.raises(ValueError, match='must be positive ints'):
        SpikingFPN([8, 16], 8.5, 2)


def _decode_head(**kwargs):
    with DefaultScope.overwrite_default_scope('mmseg'):
        return SpikingFPNHead([4, 8, 16, 32], in_channels=[8] * 4, in_index=[0, 1, 2, 3],
                              channels=8, num_classes=3,
                              norm_cfg=dict(type='BN', requires_grad=True), **kwargs)


def test_decode_head_names_its_in_channels_key():
    head = _decode_head()
    assert head(maps([8] * 4)).shape == (1, 3, 32, 32)
    with pytest.raises(ValueError, match=r'channels \[12, 12, 12, 12\].*set '
                       r'model\.decode_head\.in_channels=\[12, 12, 12, 12\].*out_channels'):
        head(maps([12] * 4))


def test_decode_head_names_in_index_when_maps_are_missing():
    with pytest.raises(ValueError, match=r'got 3 feature maps but in_index=\[0, 1, 2, 3\] needs '
                       r'4.*model\.neck\.num_outs'):
        _decode_head()(maps([8] * 3))


@pytest.mark.parametrize('lead', [(2, ), (1, 2)])
def test_cls_head_names_its_in_channels_key(lead):
    head = QSDClsHead(num_classes=3, in_channels=16)
    assert head([torch.rand(*lead, 16, 2, 2)]).shape == (2, 3)
    with pytest.raises(ValueError, match=r'channels \[24\] but was built for in_channels=16: '
                       r"set model\.head\.in_channels=24 .*backbone's last output"):
        head([torch.rand(*lead, 24, 2, 2)])


@pytest.mark.parametrize('in_channels', [0, 8.0, [8]])
def test_cls_head_refuses_bad_in_channels(in_channels):
    with pytest.raises(ValueError, match='must be a positive int'):
        QSDClsHead(num_classes=3, in_channels=in_channels)


def test_check_input_channels_passes_equal_channels():
    check_input_channels('X', maps([4, 8]), (4, 8), 'k', 's')
    with pytest.raises(ValueError, match=r'set k=\[4\] \(k must equal s\)'):
        check_input_channels('X', maps([4]), [4, 8], 'k', 's')
