# The digits demo student (qsd_t_demo_digits.py) trained with fine-grained distillation
# (QSD Eq. 13-14, lambda = 2) from its ANN counterpart.  Train the teacher first:
#   python tools/train.py configs/cls/ann_t_demo_digits.py
#   python tools/train.py configs/cls/qsd_t_fgd_demo_digits.py
# Checkpoints hold the student only and load into qsd_t_demo_digits.py (tools/test.py).
_base_ = ['./qsd_t_demo_digits.py']

model = dict(
    _delete_=True,
    type='mmqsd.FGDDistiller',
    student={{_base_.model}},
    teacher='{{ fileDirname }}/ann_t_demo_digits.py',
    teacher_ckpt='work_dirs/ann_t_demo_digits/epoch_30.pth',  # the teacher run's last checkpoint
    loss_weight=2.0,
)
