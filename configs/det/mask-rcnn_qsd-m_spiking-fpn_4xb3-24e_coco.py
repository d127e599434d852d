# QSD-Transformer M: as the T config, with the wider backbone (Table 9, 3.9M / 480 dims).
_base_ = ['./mask-rcnn_qsd-t_spiking-fpn_4xb3-24e_coco.py']

# written by configs/cls/qsd-m_8xb196-lamb-300e_in1k.py
pretrained = 'data/checkpoints/qsd_m_in1k.pth'
model = dict(
    backbone=dict(
        arch='M',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[96, 192, 384, 480]),
)
