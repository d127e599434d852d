# QSD-Transformer T on ImageNet-1k: 4-bit weights, IE-LIF (4 levels, T=1), 8 GPUs x 196.
_base_ = [
    '../_base_/models/qsd_transformer_cls.py',
    '../_base_/datasets/imagenet_bs196_qsd.py',
    '../_base_/schedules/imagenet_lamb_300e_qsd.py',
    '../_base_/default_runtime.py',
]
