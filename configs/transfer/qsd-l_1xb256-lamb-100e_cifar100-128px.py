# QSD-Transformer L trained from scratch on CIFAR-100
# (as qsd-t_1xb256-lamb-100e_cifar100-128px.py, wider).
_base_ = ['./qsd-t_1xb256-lamb-100e_cifar100-128px.py']

model = dict(backbone=dict(arch='L'), head=dict(in_channels=640))
