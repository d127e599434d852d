# CPU demo of the whole CSDformer pipeline on scikit-learn's digits (32x32 PNGs from
#   python tools/misc/make_demo_data.py digits --out data/demo_digits):
# train a small QANN (CIFAR tokenizer: 2 max-pools, 64 tokens; L = 4), then convert it
# and compare QANN and SNN accuracy for D = 0..3:
#   python tools/train.py configs/csdformer/csdformer-2-64_1xb32-adamw-30e_demo-digits.py
#   python tools/deploy/csdformer_to_snn.py \
#       configs/csdformer/csdformer-2-64_1xb32-adamw-30e_demo-digits.py \
#       work_dirs/csdformer-2-64_1xb32-adamw-30e_demo-digits/epoch_30.pth --delay 0 1 2 3
# Data, pipelines, schedule and runtime: the QSD digits demo's; the model replaces its model
# (mmengine forbids a second base defining `model`, so it is written out here).
_base_ = ['../cls/qsd-mini_1xb32-adamw-30e_demo-digits.py']

model = dict(
    _delete_=True,
    type='ImageClassifier',
    backbone=dict(type='mmqsd.CSDformer', arch=dict(depth=2, embed_dims=64, num_heads=4),
                  img_size=32, quantized=True, levels=4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64, topk=(1, ),
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')),
)
