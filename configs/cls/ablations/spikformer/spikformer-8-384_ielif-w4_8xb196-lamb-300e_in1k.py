# Table 5, Spikformer + IE-LIF: Spikformer-8-384 with IE-LIF (b = 4, T = 1), MPRF and
# 4-bit weights, no FGD (paper: 70.1 % top-1).  Schedule of the QSD-T main config.
_base_ = [
    '../../../_base_/models/qsd_spikformer_cls.py',
    '../../../_base_/datasets/imagenet_bs196_qsd.py',
    '../../../_base_/schedules/imagenet_lamb_300e_qsd.py',
    '../../../_base_/default_runtime.py',
]
