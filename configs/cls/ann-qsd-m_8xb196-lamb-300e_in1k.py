# ANN counterpart of QSD-M, the teacher of qsd_m_fgd_in1k.py (as ann_t_in1k.py, wider).
_base_ = ['./ann_t_in1k.py']

model = dict(backbone=dict(arch='M'), head=dict(in_channels=480))
