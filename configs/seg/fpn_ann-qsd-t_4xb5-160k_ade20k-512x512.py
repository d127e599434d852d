# ANN counterpart of configs/seg/fpn_qsd-t_4xb5-160k_ade20k-512x512.py: the FGD teacher for
# segmentation (QSD Sec. 4.3; docs/fgd.md).  Same Semantic FPN recipe and 4/8/16/32 pyramid,
# with mmqsd.ANNTransformer (full-precision weights, ReLU, softmax MHSA) as backbone and mmseg's
# real-valued FPN neck and FPNHead.  Its backbone starts from the ImageNet ANN teacher of
# configs/cls/ann-qsd-t_8xb196-lamb-300e_in1k.py.
_base_ = ['./fpn_qsd-t_4xb5-160k_ade20k-512x512.py']

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone={{_base_.ann_backbone}},
    neck=dict(_delete_=True, type='FPN', in_channels=[64, 128, 256, 360], out_channels=128,
              num_outs=4),
    decode_head=dict(
        _delete_=True,
        type='FPNHead',
        in_channels=[128] * 4,
        in_index=[0, 1, 2, 3],
        feature_strides=[4, 8, 16, 32],
        channels=128,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
