# QSD-Transformer T (4-bit weights, IE-LIF, T=1) + spiking FPN in Mask R-CNN on COCO,
# the paper's recipe (Sec. 5, Table 2, Appendix G.2): 1333x800 with random flip
# (mmdet's coco_instance pipeline), AdamW lr 1e-4 with poly decay (power 0.9),
# 24 epochs, batch 12 = 4 GPUs x 3 images, backbone from the ImageNet checkpoint.
_base_ = [
    '../_base_/models/qsd_mask_rcnn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    '../_base_/schedules/coco_adamw_poly_24e_qsd.py',
    'mmdet::_base_/default_runtime.py',
]

# The ImageNet checkpoint written by configs/cls/qsd-t_8xb196-lamb-300e_in1k.py (an mmpretrain
# classifier: its backbone keys start with `backbone.`).  Authors' checkpoints
# must be converted first (tools/model_converters); see docs/detection.md.
pretrained = 'data/checkpoints/qsd_t_in1k.pth'
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')))

train_dataloader = dict(batch_size=3, num_workers=2)
