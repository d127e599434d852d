# CPU demo: a small QSD-Transformer (4-bit weights, IE-LIF) with a 4-bit spiking
# Semantic FPN, trained from scratch on synthetic scenes in ADE20K's folder layout
# (sky / ground / rectangle / ellipse / triangle, 128x128, 300 train / 60 val)
# written by
#   python tools/misc/make_demo_data.py ade --out data/demo_ade
# A few minutes on 2 CPU cores (run with OMP_NUM_THREADS=1 on a shared machine);
# tools/test.py prints mIoU: 75.3 measured, against 9.2 for predicting the majority
# class everywhere (data/demo_ade/meta.json; docs/segmentation.md).
# Same model family as the ADE20K configs, shrunk: tiny backbone, 32 channels,
# plain BN (single process), a higher lr and a short schedule (no pretraining).
_base_ = ['./fpn_qsd-t_4xb5-160k_ade20k-512x512.py']

channels = 32
crop_size = (128, 128)
data_preprocessor = dict(size=crop_size)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4,
                  depths=(2, 1)),
        init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 96], out_channels=channels, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=[channels] * 4, channels=channels, num_classes=5,
                     norm_cfg=norm_cfg),
)

dataset_type = 'mmqsd.SyntheticADEDataset'
data_root = 'data/demo_ade'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 600
warmup_iters = 50
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=warmup_iters,
         end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_last=True))
randomness = dict(seed=0)
