# QSD-T Mask R-CNN (mask-rcnn_qsd-t_spiking-fpn_4xb3-24e_coco.py) trained with fine-grained
# distillation of the backbone's q/k/v (QSD Sec. 4.3, Eq. 13-14, lambda = 2) from the ANN
# detector of mask-rcnn_ann-qsd-t_fpn_4xb3-24e_coco.py, which has the same pyramid, so q/k/v
# shapes match layer by layer:
#   1. tools/dist_train.sh configs/det/mask-rcnn_ann-qsd-t_fpn_4xb3-24e_coco.py 4
#   2. point teacher_ckpt at its checkpoint (or --cfg-options model.teacher_ckpt=PATH)
#   3. tools/dist_train.sh configs/det/mask-rcnn_qsd-t_spiking-fpn_fgd_4xb3-24e_coco.py 4
# Checkpoints hold the student only; evaluate them with
# configs/det/mask-rcnn_qsd-t_spiking-fpn_4xb3-24e_coco.py.
_base_ = ['./mask-rcnn_qsd-t_spiking-fpn_4xb3-24e_coco.py']

model = dict(
    _delete_=True,
    type='mmqsd.FGDDistiller',
    student={{_base_.model}},
    teacher='{{ fileDirname }}/mask-rcnn_ann-qsd-t_fpn_4xb3-24e_coco.py',
    teacher_ckpt='data/checkpoints/ann_t_maskrcnn.pth',  # placeholder: the trained teacher
    loss_weight=2.0,
)
