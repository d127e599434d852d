# ANN counterpart of qsd-mini_1xb32-adamw-30e_demo-digits.py, the teacher of the FGD
# digits demo (qsd-mini_fgd_1xb32-adamw-30e_demo-digits.py): same layout, full-precision
# weights, ReLU in place of the spiking neurons and softmax attention
# (mmqsd.ANNTransformer, docs/fgd.md).
#   python tools/train.py configs/cls/ann-qsd-mini_1xb32-adamw-30e_demo-digits.py
_base_ = ['./qsd-mini_1xb32-adamw-30e_demo-digits.py']

model = dict(
    backbone=dict(_delete_=True, type='mmqsd.ANNTransformer', arch={{_base_.model.backbone.arch}}),
    head=dict(weight_bits=None, neuron=dict(_delete_=True, type='relu')),  # replaces 'ie_lif'
)
