# ANN counterpart of QSD-M, the teacher of qsd-m_fgd_8xb196-lamb-300e_in1k.py
# (as ann-qsd-t_8xb196-lamb-300e_in1k.py, wider).
_base_ = ['./ann-qsd-t_8xb196-lamb-300e_in1k.py']

model = dict(backbone=dict(arch='M'), head=dict(in_channels=480))
