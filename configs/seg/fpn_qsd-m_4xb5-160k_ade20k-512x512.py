# QSD-Transformer M: as the T config, with the wider backbone (Table 9, 480 dims)
# and a 256-channel neck and head (the authors' SDT-v2 width for larger backbones;
# with it the parameter count matches Table 3's 9.6M best, docs/segmentation.md).
_base_ = ['./fpn_qsd-t_4xb5-160k_ade20k-512x512.py']

channels = 256
# written by configs/cls/qsd-m_8xb196-lamb-300e_in1k.py
pretrained = 'data/checkpoints/qsd_m_in1k.pth'
model = dict(
    backbone=dict(
        arch='M',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[96, 192, 384, 480], out_channels=channels),
    decode_head=dict(in_channels=[channels] * 4, channels=channels),
)
