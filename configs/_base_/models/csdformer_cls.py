# CSDformer image classifier (mmpretrain ImageClassifier): the quantised tailored
# transformer (QANN, LSQ activations with L = 4 levels) that converts to an SNN with
# tools/deploy/csdformer_to_snn.py.  GAP + linear head on the residual stream, as in
# Spikingformer (CSDformer Eq. 4).  Sizes differ in `arch` and the head's `in_channels`.
custom_imports = dict(imports=['mmqsd'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmqsd.CSDformer',
        arch='8-384',
        img_size=224,  # > 64 px: ImageNet tokenizer (4 max-pools, 196 tokens)
        quantized=True,
        levels=4,
        out_indices=(-1, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=384,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=dict(type='TruncNormal', layer='Linear', std=0.02),
        topk=(1, 5)),
)
