# ANN counterpart of configs/det/mask-rcnn_qsd-t_spiking-fpn_4xb3-24e_coco.py: the FGD teacher
# for detection (QSD Sec. 4.3; docs/fgd.md).  Same Mask R-CNN, recipe and pyramid
# (stage4_stride=2, strides 4/8/16/32), with mmqsd.ANNTransformer (full-precision weights, ReLU,
# softmax MHSA) as backbone and mmdet's real-valued FPN as neck.  Its backbone starts from the
# ImageNet ANN teacher of configs/cls/ann-qsd-t_8xb196-lamb-300e_in1k.py.
_base_ = ['./mask-rcnn_qsd-t_spiking-fpn_4xb3-24e_coco.py']

model = dict(
    backbone={{_base_.ann_backbone}},
    neck=dict(_delete_=True, type='FPN', in_channels=[64, 128, 256, 360], out_channels=256,
              num_outs=5))
