# QSD-Transformer L trained from scratch on CIFAR-10 (as qsd_t_cifar10_scratch.py, wider).
_base_ = ['./qsd_t_cifar10_scratch.py']

model = dict(backbone=dict(arch='L'), head=dict(in_channels=640))
