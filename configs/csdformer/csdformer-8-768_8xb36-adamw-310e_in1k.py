# CSDformer-8-768 (66.34M parameters, paper Table 1: 76.36% top-1 with T = 4, D = 3).
_base_ = './csdformer-8-384_8xb36-adamw-310e_in1k.py'

model = dict(backbone=dict(arch='8-768'), head=dict(in_channels=768))
