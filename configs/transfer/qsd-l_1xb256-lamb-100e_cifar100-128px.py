# QSD-Transformer L trained from scratch on CIFAR-100 (as qsd_t_cifar100_scratch.py, wider).
_base_ = ['./qsd_t_cifar100_scratch.py']

model = dict(backbone=dict(arch='L'), head=dict(in_channels=640))
