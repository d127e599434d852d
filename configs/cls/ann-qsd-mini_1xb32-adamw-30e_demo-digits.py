# ANN counterpart of qsd_t_demo_digits.py, the teacher of the FGD digits demo
# (qsd_t_fgd_demo_digits.py): same layout, full-precision weights, ReLU in place of
# the spiking neurons and softmax attention (mmqsd.ANNTransformer, docs/fgd.md).
#   python tools/train.py configs/cls/ann_t_demo_digits.py
_base_ = ['./qsd_t_demo_digits.py']

model = dict(
    backbone=dict(_delete_=True, type='mmqsd.ANNTransformer', arch={{_base_.model.backbone.arch}}),
    head=dict(weight_bits=None, neuron=dict(_delete_=True, type='relu')),  # replaces 'ie_lif'
)
