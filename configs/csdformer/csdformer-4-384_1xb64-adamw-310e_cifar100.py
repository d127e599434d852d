# CSDformer-4-384 on CIFAR-100 (paper Table 2: 79.79% with T = 4, D = 3; Table 4: 67.76 /
# 75.65 / 79.12 / 79.79% for D = 0..3).  The CIFAR-10 recipe with Spikingformer's CIFAR-100
# choice of 8 heads.
_base_ = './csdformer-4-384_1xb64-adamw-310e_cifar10.py'

model = dict(
    backbone=dict(arch=dict(num_heads=8)),
    head=dict(num_classes=100),
)
data_preprocessor = dict(num_classes=100, mean=[129.304, 124.070, 112.434],
                         std=[68.170, 65.392, 70.418])
train_dataloader = dict(dataset=dict(type='CIFAR100', data_root='data/cifar100'))
val_dataloader = dict(dataset=dict(type='CIFAR100', data_root='data/cifar100'))
test_dataloader = val_dataloader
