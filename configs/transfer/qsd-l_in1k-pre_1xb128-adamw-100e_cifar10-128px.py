# QSD-Transformer L fine-tuned on CIFAR-10
# (as qsd-t_in1k-pre_1xb128-adamw-100e_cifar10-128px.py, wider).
# Paper, Table 4 (its 6.8M model, 5 seeds): 98.4 +- 0.2 % top-1 -- not reproduced here.
_base_ = ['./qsd-t_in1k-pre_1xb128-adamw-100e_cifar10-128px.py']

model = dict(
    backbone=dict(arch='L', init_cfg=dict(checkpoint='data/checkpoints/qsd_l_in1k.pth')),
    head=dict(in_channels=640))
