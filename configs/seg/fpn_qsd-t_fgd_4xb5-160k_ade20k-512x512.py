# QSD-T Semantic FPN (fpn_qsd-t_4xb5-160k_ade20k-512x512.py) trained with fine-grained
# distillation of the backbone's q/k/v (QSD Sec. 4.3, Eq. 13-14, lambda = 2) from the ANN
# segmentor of fpn_ann-qsd-t_4xb5-160k_ade20k-512x512.py, which has the same pyramid, so
# q/k/v shapes match layer by layer:
#   1. tools/dist_train.sh configs/seg/fpn_ann-qsd-t_4xb5-160k_ade20k-512x512.py 4
#   2. point teacher_ckpt at its checkpoint (or --cfg-options model.teacher_ckpt=PATH)
#   3. tools/dist_train.sh configs/seg/fpn_qsd-t_fgd_4xb5-160k_ade20k-512x512.py 4
# Checkpoints hold the student only; evaluate them with
# configs/seg/fpn_qsd-t_4xb5-160k_ade20k-512x512.py.
_base_ = ['./fpn_qsd-t_4xb5-160k_ade20k-512x512.py']

model = dict(
    _delete_=True,
    type='mmqsd.FGDDistiller',
    student={{_base_.model}},
    teacher='{{ fileDirname }}/fpn_ann-qsd-t_4xb5-160k_ade20k-512x512.py',
    teacher_ckpt='data/checkpoints/ann_t_fpn_ade20k.pth',  # placeholder: the trained teacher
    loss_weight=2.0,
)
