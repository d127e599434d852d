# QSD-Transformer T trained from scratch on CIFAR-100, paper Table 8 (the recipe of
# qsd-t_1xb256-lamb-100e_cifar10-128px.py with CIFAR-100 data and a 100-way head).
_base_ = [
    '../_base_/models/qsd_transformer_cls.py',
    '../_base_/datasets/cifar100_bs128_128px_qsd.py',
    '../_base_/schedules/cifar_lamb_cos_100e_qsd.py',
    '../_base_/default_runtime.py',
]

model = dict(
    head=dict(num_classes=100, loss=dict(_delete_=True, type='CrossEntropyLoss', use_soft=True)))
train_dataloader = dict(batch_size=256)
