# QSD-Transformer image classifier (mmpretrain ImageClassifier), arch T.
# Sizes differ only in `arch` and the head's `in_channels` (T 360, M 480, L 640).
custom_imports = dict(imports=['mmqsd'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmqsd.QSDTransformer',
        arch='T',
        weight_bits=4,
        neuron='ie_lif',
        levels=4,
        time_steps=1,
        mprf=True,
        out_indices=(3, ),
        stage4_stride=1,
        in_channels=3,
        drop_path_rate=0.),
    neck=None,
    head=dict(
        type='mmqsd.QSDClsHead',
        num_classes=1000,
        in_channels=360,
        weight_bits=4,
        neuron='ie_lif',
        levels=4,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5)),
)
