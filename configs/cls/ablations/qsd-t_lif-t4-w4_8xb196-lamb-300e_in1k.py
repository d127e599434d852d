# Table 5, row 1: QSD baseline = SD-Transformer v2-T with binary LIF neurons,
# T=4 time steps, 4-bit weights, no MPRF, no FGD (paper: 70.0 % top-1).
_base_ = ['../qsd-t_8xb196-lamb-300e_in1k.py']

model = dict(
    backbone=dict(neuron='lif', time_steps=4, mprf=False),
    head=dict(neuron='lif'))
