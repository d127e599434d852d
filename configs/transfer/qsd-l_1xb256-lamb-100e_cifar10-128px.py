# QSD-Transformer L trained from scratch on CIFAR-10
# (as qsd-t_1xb256-lamb-100e_cifar10-128px.py, wider).
_base_ = ['./qsd-t_1xb256-lamb-100e_cifar10-128px.py']

model = dict(backbone=dict(arch='L'), head=dict(in_channels=640))
