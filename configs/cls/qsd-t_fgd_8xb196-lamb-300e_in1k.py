# QSD-T (qsd-t_8xb196-lamb-300e_in1k.py) trained with fine-grained distillation from
# its ANN counterpart (QSD Sec. 4.3, Eq. 13-14, lambda = 2; docs/fgd.md):
#   1. train the teacher: tools/dist_train.sh configs/cls/ann-qsd-t_8xb196-lamb-300e_in1k.py 8
#   2. point teacher_ckpt at its checkpoint (or --cfg-options model.teacher_ckpt=PATH)
#   3. tools/dist_train.sh configs/cls/qsd-t_fgd_8xb196-lamb-300e_in1k.py 8
# Checkpoints hold the student only; evaluate them with
# configs/cls/qsd-t_8xb196-lamb-300e_in1k.py.
_base_ = ['./qsd-t_8xb196-lamb-300e_in1k.py']

model = dict(
    _delete_=True,
    type='mmqsd.FGDDistiller',
    student={{_base_.model}},
    teacher='{{ fileDirname }}/ann-qsd-t_8xb196-lamb-300e_in1k.py',
    teacher_ckpt='data/checkpoints/ann_t_in1k.pth',  # placeholder: the trained ANN teacher
    loss_weight=2.0,
)
