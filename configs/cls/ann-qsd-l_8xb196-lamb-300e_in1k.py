# ANN counterpart of QSD-L, the teacher of qsd_l_fgd_in1k.py (as ann_t_in1k.py, wider).
_base_ = ['./ann_t_in1k.py']

model = dict(backbone=dict(arch='L'), head=dict(in_channels=640))
