# QSD-T Mask R-CNN (qsd_t_maskrcnn.py) trained with fine-grained distillation of the
# backbone's q/k/v (QSD Sec. 4.3, Eq. 13-14, lambda = 2) from the ANN detector of
# ann_t_maskrcnn.py, which has the same pyramid, so q/k/v shapes match layer by layer:
#   1. tools/dist_train.sh configs/det/ann_t_maskrcnn.py 4
#   2. point teacher_ckpt at its checkpoint (or --cfg-options model.teacher_ckpt=PATH)
#   3. tools/dist_train.sh configs/det/qsd_t_maskrcnn_fgd.py 4
# Checkpoints hold the student only; evaluate them with configs/det/qsd_t_maskrcnn.py.
_base_ = ['./qsd_t_maskrcnn.py']

model = dict(
    _delete_=True,
    type='mmqsd.FGDDistiller',
    student={{_base_.model}},
    teacher='{{ fileDirname }}/ann_t_maskrcnn.py',
    teacher_ckpt='data/checkpoints/ann_t_maskrcnn.pth',  # placeholder: the trained teacher
    loss_weight=2.0,
)
