# CSDformer-8-384 QANN on ImageNet-1k with the paper's recipe (Sec. 4.1): AdamW, batch
# 288 (8 GPUs x 36), 310 epochs, cosine lr from 5e-4.  The rest follows Spikingformer's
# imagenet.yml, which the paper says it follows: weight decay 0.05, 20 warm-up epochs from
# 1e-6, cosine to 1e-5 at epoch 300 then 10 cool-down epochs, RandAugment m9 mstd0.5,
# Mixup 0.8 / CutMix 1.0 (one of the two per batch), random erasing 0.25, label
# smoothing 0.1, bicubic 224 px crops of the whole image, test: resize 224 + centre crop
# (crop_pct 1.0).  Spikingformer trains with AMP: add --amp on GPUs.
_base_ = [
    '../_base_/models/csdformer_cls.py',
    '../_base_/datasets/imagenet_bs196_qsd.py',
    '../_base_/default_runtime.py',
]

model = dict(
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))

bgr_mean = _base_.data_preprocessor['mean'][::-1]
bgr_std = _base_.data_preprocessor['std'][::-1]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(1.0, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10,
         magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='const', min_area_ratio=0.02,
         max_area_ratio=1 / 3, fill_color=bgr_mean, fill_std=bgr_std),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=224, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=36, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=36, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# No weight decay on norms, biases and the quantisers' step sizes (1-element tensors).
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 5e-4, by_epoch=True, begin=0, end=20,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=280, eta_min=1e-5, by_epoch=True, begin=20, end=300,
         convert_to_iter_based=True),
]  # epochs 300-310 (cool-down) keep the last lr, 1e-5
train_cfg = dict(by_epoch=True, max_epochs=310, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=288)
