# CPU demo: a small QSD-Transformer (4-bit weights, IE-LIF) trained on
# scikit-learn's handwritten digits, written as 32x32 PNGs by
#   python tools/misc/make_demo_data.py digits --out data/demo_digits
# Used by `make demo`; a few minutes on 2 CPU cores.
_base_ = [
    '../_base_/models/qsd_transformer_cls.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(arch=dict(
        _delete_=True, embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4, depths=(2, 1))),
    head=dict(num_classes=10, in_channels=96, loss=dict(label_smooth_val=0.1), topk=(1, )),
)

data_preprocessor = dict(
    num_classes=10,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

dataset_type = 'CustomDataset'
data_root = 'data/demo_digits'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=2),  # no flips: digits are not symmetric
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type, data_root=data_root, data_prefix='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

max_epochs = 30
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 2, eta_min=1e-5, by_epoch=True, begin=2,
         end=max_epochs),
]
auto_scale_lr = dict(base_batch_size=32)  # used with tools/train.py --auto-scale-lr
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_last=True),
)
randomness = dict(seed=0, deterministic=False)
