# QSD applied to Spikformer-8-384 (QSD Table 5): an mmpretrain ImageClassifier with
# 4-bit LSQ weights, IE-LIF neurons (b = 4, T = 1) and MPRF on q/k/v.
custom_imports = dict(imports=['mmqsd'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmqsd.QSDSpikformer',
        arch='8-384',
        weight_bits=4,
        neuron='ie_lif',
        levels=4,
        time_steps=1,
        mprf=True,
        attn_scale=0.125),
    neck=None,
    head=dict(
        type='mmqsd.QSDClsHead',
        num_classes=1000,
        in_channels=384,
        weight_bits=4,
        neuron=dict(type='identity'),  # Spikformer reads the token mean without a neuron
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5)),
)
