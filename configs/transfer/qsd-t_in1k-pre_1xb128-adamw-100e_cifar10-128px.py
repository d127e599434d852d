# QSD-Transformer T fine-tuned on CIFAR-10 from its ImageNet-1k checkpoint (paper Table 4,
# Appendix G.4): 128x128 inputs, the 1000-way head replaced by a 10-way one, AdamW lr 1e-4
# (weight decay 0.01), cosine over 100 epochs, batch 128, Mixup/CutMix + label smoothing 0.1.
# IE-LIF with 4 levels at T=1 is the paper's "T=4" (4 binary virtual time steps).
# Paper, Table 4 (its 1.8M model, 5 seeds): 97.8 +- 0.1 % top-1 -- not reproduced here.
_base_ = [
    '../_base_/models/qsd_transformer_cls.py',
    '../_base_/datasets/cifar10_bs128_128px_qsd.py',
    '../_base_/schedules/transfer_adamw_cos_100e_qsd.py',
    '../_base_/default_runtime.py',
]

# The classifier checkpoint of configs/cls/qsd-t_8xb196-lamb-300e_in1k.py (converted authors'
# checkpoints too, see tools/model_converters).  `prefix` loads the backbone only: the new head
# keeps its own initialisation.
pretrained = 'data/checkpoints/qsd_t_in1k.pth'
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(num_classes=10))
