"""A tiny QSD spiking Semantic FPN segmentor shared by the segmentation tests."""
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmqsd  # noqa: F401

TINY = dict(embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4, depths=(2, 1))
NUM_CLASSES = 5


def tiny_segmentor_cfg(channels=16, test_cfg=None, **head):
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                               seg_pad_val=255, size=(64, 64)),
        backbone=dict(type='mmqsd.QSDTransformer', arch=TINY, out_indices=(0, 1, 2, 3),
                      stage4_stride=2, time_reduce='mean'),
        neck=dict(type='mmqsd.SpikingNormFPN', in_channels=TINY['embed_dims'],
                  out_channels=channels, num_outs=4),
        decode_head=dict(type='mmqsd.SpikingFPNHead', in_channels=[channels] * 4,
                         in_index=[0, 1, 2, 3], feature_strides=[4, 8, 16, 32],
                         channels=channels, num_classes=NUM_CLASSES,
                         norm_cfg=dict(type='BN', requires_grad=True), **head),
        train_cfg=dict(),
        test_cfg=test_cfg or dict(mode='whole'))


def build_segmentor(**kwargs):
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(ConfigDict(tiny_segmentor_cfg(**kwargs)))


def seg_batch(batch_size, height, width, seed=0):
    """mmseg-style ``(inputs, data_samples)``: uint8 images and labels incl. ignore 255."""
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, height, width), generator=gen, dtype=torch.uint8))
        labels = torch.randint(0, NUM_CLASSES, (1, height, width), generator=gen)
        labels[:, :2] = 255
        sample = SegDataSample(gt_sem_seg=PixelData(data=labels))
        sample.set_metainfo(dict(img_shape=(height, width), ori_shape=(height, width),
                                 pad_shape=(height, width)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)
