# IE-LIF with 3-bit weights, without FGD.  The paper's Table 5 row for 3 bits also uses FGD:
# that is qsd-t_ielif-fgd-w3_8xb196-lamb-300e_in1k.py; this config isolates the bit width.
_base_ = ['../qsd-t_8xb196-lamb-300e_in1k.py']

model = dict(backbone=dict(weight_bits=3), head=dict(weight_bits=3))
