# Table 5, Spikformer + IE-LIF + FGD, 3-bit weights (paper: 74.1 % top-1).
_base_ = ['./spikformer-8-384_ielif-fgd-w4_8xb196-lamb-300e_in1k.py']

model = dict(student=dict(backbone=dict(weight_bits=3), head=dict(weight_bits=3)))
