# CSDformer-4-384-400E on CIFAR-10 (paper Table 2: 96.35%): the 310-epoch recipe, 400 epochs.
_base_ = './csdformer-4-384_1xb64-adamw-310e_cifar10.py'

max_epochs = 400
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-5 / 5e-4, by_epoch=True, begin=0, end=20,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 30, eta_min=1e-5, by_epoch=True, begin=20,
         end=max_epochs - 10, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
