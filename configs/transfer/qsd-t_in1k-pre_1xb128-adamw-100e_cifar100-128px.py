# QSD-Transformer T fine-tuned on CIFAR-100 from its ImageNet-1k checkpoint (paper Table 4,
# Appendix G.4; the recipe of qsd-t_in1k-pre_1xb128-adamw-100e_cifar10-128px.py with a
# 100-way head).
# Paper, Table 4 (its 1.8M model, 5 seeds): 86.6 +- 0.3 % top-1 -- not reproduced here.
_base_ = [
    '../_base_/models/qsd_transformer_cls.py',
    '../_base_/datasets/cifar100_bs128_128px_qsd.py',
    '../_base_/schedules/transfer_adamw_cos_100e_qsd.py',
    '../_base_/default_runtime.py',
]

pretrained = 'data/checkpoints/qsd_t_in1k.pth'
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(num_classes=100))
