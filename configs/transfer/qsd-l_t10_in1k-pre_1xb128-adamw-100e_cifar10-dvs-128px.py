# QSD-Transformer L fine-tuned on CIFAR10-DVS, T = 10
# (as qsd-t_t10_in1k-pre_1xb128-adamw-100e_cifar10-dvs-128px.py, wider).
# Paper, Table 4 (its 6.8M model, 5 seeds, T=10): 89.8 +- 0.1 % top-1 -- not reproduced here.
_base_ = ['./qsd-t_t10_in1k-pre_1xb128-adamw-100e_cifar10-dvs-128px.py']

model = dict(
    backbone=dict(arch='L', init_cfg=dict(checkpoint='data/checkpoints/qsd_l_in1k.pth')),
    head=dict(in_channels=640))
