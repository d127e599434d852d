# CIFAR10-DVS as T = 10 frames (paper Table 4, Appendix G.4; docs/transfer.md).
# Each recording is cut into 10 slices with equal event counts; a frame has 3 channels:
# ON events, OFF events, all events (counts, not normalised).  Frames keep the sensor's
# 128x128 (set ResizeEventFrames.size to 64 for SDT's resolution).  Training adds the
# usual DVS augmentation (random horizontal flip, random roll of up to 5 px) and
# Mixup / CutMix on the whole frame stack (G.4).  Split: per class, files sorted by
# name, first 90 % train (mmqsd.CIFAR10DVS; there is no official split).
dataset_type = 'mmqsd.CIFAR10DVS'
data_root = 'data/cifar10dvs'  # airplane/ ... truck/ with the published .aedat files
num_frames = 10

data_preprocessor = dict(
    type='mmqsd.EventFramePreprocessor',
    num_classes=10,
    batch_augments=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)

train_pipeline = [
    dict(type='mmqsd.LoadEventFrames', num_frames=num_frames, channels=('on', 'off', 'all')),
    dict(type='mmqsd.ResizeEventFrames', size=128),
    dict(type='mmqsd.EventFrameFlip', prob=0.5),
    dict(type='mmqsd.EventFrameTranslate', max_shift=5, mode='roll'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='mmqsd.LoadEventFrames', num_frames=num_frames, channels=('on', 'off', 'all')),
    dict(type='mmqsd.ResizeEventFrames', size=128),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', train_ratio=0.9,
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', train_ratio=0.9,
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
