# CIFAR-10 at 128x128 for QSD transfer learning (paper Table 8 CIFAR column, Appendix G.4).
# 32x32 images: random crop (padding 4) + horizontal flip at 32 px, bicubic upsampling
# to 128, RandAugment 9/0.5 (Table 8); Mixup 0.8 / CutMix 1.0 as batch augmentations.
# The crop/flip/upsampling order is our choice (the paper gives only the resolution).
# Test: bicubic upsampling to 128.  128 images per batch on one GPU (G.4).
dataset_type = 'CIFAR10'
data_root = 'data/cifar10'  # holds cifar-10-batches-py/

data_preprocessor = dict(
    num_classes=10,
    mean=[125.307, 122.961, 113.8575],  # RGB: CIFAR batches are RGB already
    std=[51.5865, 50.847, 51.255],
    to_rgb=False,
    batch_augments=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Resize', scale=(128, 128), interpolation='bicubic'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(pad_val=[125, 123, 114], interpolation='bicubic')),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=(128, 128), interpolation='bicubic'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
