# CSDformer-4-384 QANN on CIFAR-10 (paper Table 2: 9.32M parameters, 96.12% with T = 4, D = 3).
# "Same setup as ImageNet except batch size 64 and max-pools only in the last two tokenizer
# modules" (Sec. 4.2); the rest follows Spikingformer's cifar10.yml: 12 heads, AdamW lr 5e-4,
# weight decay 0.06, 20 warm-up epochs from 1e-5, cosine to 1e-5, 10 cool-down epochs,
# RandAugment m9 n1 mstd0.4, Mixup 0.5 (off from epoch 200), no CutMix, random erasing 0.25,
# label smoothing 0.1, no random crop.  The paper's default length is taken to be 310 epochs.
_base_ = [
    '../_base_/models/csdformer_cls.py',
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(arch=dict(_delete_=True, depth=4, embed_dims=384, num_heads=12), img_size=32),
    head=dict(num_classes=10, in_channels=384, topk=(1, )),
    train_cfg=dict(augments=dict(type='Mixup', alpha=0.5)),
)

rgb_mean = _base_.data_preprocessor['mean']
train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=1, total_level=10,
         magnitude_level=9, magnitude_std=0.4,
         hparams=dict(pad_val=[round(x) for x in rgb_mean], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='const', min_area_ratio=0.02,
         max_area_ratio=1 / 3, fill_color=rgb_mean),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader

max_epochs = 310
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.06),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-5 / 5e-4, by_epoch=True, begin=0, end=20,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 30, eta_min=1e-5, by_epoch=True, begin=20,
         end=max_epochs - 10, convert_to_iter_based=True),
]  # the last 10 epochs (cool-down) keep the last lr, 1e-5
custom_hooks = [
    dict(type='SwitchRecipeHook', schedule=[dict(action_epoch=200, batch_augments=None)]),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
