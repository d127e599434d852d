# Table 5: QSD-T with IE-LIF and FGD, 3-bit weights (paper: 76.9 % top-1).
# The teacher is the full-precision ANN of ../ann-qsd-t_8xb196-lamb-300e_in1k.py, as for 4 bits.
_base_ = ['../qsd-t_fgd_8xb196-lamb-300e_in1k.py']

model = dict(student=dict(backbone=dict(weight_bits=3), head=dict(weight_bits=3)))
