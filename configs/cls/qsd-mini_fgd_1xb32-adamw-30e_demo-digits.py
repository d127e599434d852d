# The digits demo student (qsd-mini_1xb32-adamw-30e_demo-digits.py) trained with
# fine-grained distillation (QSD Eq. 13-14, lambda = 2) from its ANN counterpart.
# Train the teacher first:
#   python tools/train.py configs/cls/ann-qsd-mini_1xb32-adamw-30e_demo-digits.py
#   python tools/train.py configs/cls/qsd-mini_fgd_1xb32-adamw-30e_demo-digits.py
# Checkpoints hold the student only and load into qsd-mini_1xb32-adamw-30e_demo-digits.py
# (tools/test.py).
_base_ = ['./qsd-mini_1xb32-adamw-30e_demo-digits.py']

model = dict(
    _delete_=True,
    type='mmqsd.FGDDistiller',
    student={{_base_.model}},
    teacher='{{ fileDirname }}/ann-qsd-mini_1xb32-adamw-30e_demo-digits.py',
    # the teacher run's last checkpoint
    teacher_ckpt='work_dirs/ann-qsd-mini_1xb32-adamw-30e_demo-digits/epoch_30.pth',
    loss_weight=2.0,
)
