# Table 5, Spikformer + IE-LIF + FGD, 4-bit weights (paper: 75.5 % top-1): the IE-LIF
# model distilled from its ANN counterpart (QSD Eq. 13-14, lambda = 2).  Train the
# teacher (ann-spikformer-8-384_8xb196-lamb-300e_in1k.py) first.
_base_ = ['./spikformer-8-384_ielif-w4_8xb196-lamb-300e_in1k.py']

model = dict(
    _delete_=True,
    type='mmqsd.FGDDistiller',
    student={{_base_.model}},
    teacher='{{ fileDirname }}/ann-spikformer-8-384_8xb196-lamb-300e_in1k.py',
    teacher_ckpt='data/checkpoints/ann_spikformer_8_384_in1k.pth',  # placeholder
    loss_weight=2.0,
)
