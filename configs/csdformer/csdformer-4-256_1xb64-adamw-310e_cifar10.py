# CSDformer-4-256 on CIFAR-10 (paper Table 2: 4.15M parameters, 95.43%); 8 heads (256 is not
# divisible by Spikingformer's 12).
_base_ = './csdformer-4-384_1xb64-adamw-310e_cifar10.py'

model = dict(
    backbone=dict(arch=dict(embed_dims=256, num_heads=8)),
    head=dict(in_channels=256),
)
