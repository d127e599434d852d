# Mask R-CNN with a QSD-Transformer backbone and a spiking FPN (QSD paper Sec. 5,
# Table 2), arch T.  Built on mmdet's own Mask R-CNN FPN model; only the backbone
# and the neck are replaced (qsd_pyramid.py), the RPN and RoI heads stay mmdet's
# real-valued ones (docs/detection.md explains the split).  Their anchor strides
# 4..64 and RoIAlign featmap_strides 4/8/16/32 match the backbone's
# stage4_stride=2 pyramid.  Sizes differ in `arch`, the neck's `in_channels` and
# the pretrained checkpoint (see configs/det/*qsd-m*).
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', './qsd_pyramid.py']
custom_imports = dict(imports=['mmqsd'], allow_failed_imports=False)

model = dict(backbone={{_base_.qsd_backbone}}, neck={{_base_.spiking_fpn}})
