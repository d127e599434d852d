# Table 5, Spikformer baseline: binary LIF neurons, T = 4 time steps, 4-bit weights,
# no MPRF, no FGD (paper: 64.1 % top-1).  Spikformer's attention LIF fires at 0.5.
_base_ = ['./spikformer-8-384_ielif-w4_8xb196-lamb-300e_in1k.py']

model = dict(
    backbone=dict(neuron='lif', time_steps=4, mprf=False, attn_neuron_cfg=dict(threshold=0.5)))
