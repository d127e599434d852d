# CSDformer-8-512 (29.68M parameters, paper Table 1): the 8-384 recipe, wider model.
_base_ = './csdformer-8-384_8xb36-adamw-310e_in1k.py'

model = dict(backbone=dict(arch='8-512'), head=dict(in_channels=512))
