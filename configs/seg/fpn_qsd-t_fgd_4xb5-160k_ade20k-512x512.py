# QSD-T Semantic FPN (qsd_t_fpn_ade20k.py) trained with fine-grained distillation of
# the backbone's q/k/v (QSD Sec. 4.3, Eq. 13-14, lambda = 2) from the ANN segmentor of
# ann_t_fpn_ade20k.py, which has the same pyramid, so q/k/v shapes match layer by layer:
#   1. tools/dist_train.sh configs/seg/ann_t_fpn_ade20k.py 4
#   2. point teacher_ckpt at its checkpoint (or --cfg-options model.teacher_ckpt=PATH)
#   3. tools/dist_train.sh configs/seg/qsd_t_fpn_ade20k_fgd.py 4
# Checkpoints hold the student only; evaluate them with configs/seg/qsd_t_fpn_ade20k.py.
_base_ = ['./qsd_t_fpn_ade20k.py']

model = dict(
    _delete_=True,
    type='mmqsd.FGDDistiller',
    student={{_base_.model}},
    teacher='{{ fileDirname }}/ann_t_fpn_ade20k.py',
    teacher_ckpt='data/checkpoints/ann_t_fpn_ade20k.pth',  # placeholder: the trained teacher
    loss_weight=2.0,
)
