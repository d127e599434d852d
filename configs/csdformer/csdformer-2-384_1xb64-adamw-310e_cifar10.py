# CSDformer-2-384 on CIFAR-10 (paper Table 2: 5.76M parameters, 95.52%).
_base_ = './csdformer-4-384_1xb64-adamw-310e_cifar10.py'

model = dict(backbone=dict(arch=dict(depth=2)))
