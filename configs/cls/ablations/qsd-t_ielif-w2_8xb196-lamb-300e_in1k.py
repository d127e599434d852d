# IE-LIF with 2-bit weights, without FGD.  The paper's Table 5 row for 2 bits also uses FGD:
# that is qsd-t_ielif-fgd-w2_8xb196-lamb-300e_in1k.py; this config isolates the bit width.
_base_ = ['../qsd-t_8xb196-lamb-300e_in1k.py']

model = dict(backbone=dict(weight_bits=2), head=dict(weight_bits=2))
