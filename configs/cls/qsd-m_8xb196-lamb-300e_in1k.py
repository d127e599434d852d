# QSD-Transformer M on ImageNet-1k (as T, wider).
_base_ = ['./qsd-t_8xb196-lamb-300e_in1k.py']

model = dict(backbone=dict(arch='M'), head=dict(in_channels=480))
