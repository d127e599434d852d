# ANN counterpart of Spikformer-8-384, the FGD teacher of the Table 5 Spikformer rows:
# same layout, full-precision weights, ReLU in place of the spiking neurons, softmax
# attention softmax(q k^T / sqrt(d)) v (see docs/fgd.md).
_base_ = ['./spikformer-8-384_ielif-w4_8xb196-lamb-300e_in1k.py']

model = dict(
    backbone=dict(
        weight_bits=None,
        neuron=dict(_delete_=True, type='relu'),  # replaces 'ie_lif'
        mprf=False,
        attention='softmax',
        attn_scale=None),
    head=dict(weight_bits=None))
