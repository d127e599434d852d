from .neurons import IELIF, LIF, build_neuron
from .norm import MPRF, SeqBatchNorm1d, SeqBatchNorm2d, affine_of_bn
from .qsd_blocks import (MLP, QSDSA, BNAndPad, ConvBlock, Downsample, QKVBranch, RepConv,
                         SepConv, TransformerBlock)
from .quant import LSQWeightMixin, QuantConv1d, QuantConv2d, QuantLinear
from .spike_train import SpikeTrain, map_values, spike_matmul, synaptic_forward

__all__ = [
    'IELIF', 'LIF', 'build_neuron', 'MPRF', 'SeqBatchNorm1d', 'SeqBatchNorm2d', 'affine_of_bn',
    'MLP', 'QSDSA', 'BNAndPad', 'ConvBlock', 'Downsample', 'QKVBranch', 'RepConv', 'SepConv',
    'TransformerBlock', 'LSQWeightMixin', 'QuantConv1d', 'QuantConv2d', 'QuantLinear',
    'SpikeTrain', 'map_values', 'spike_matmul', 'synaptic_forward'
]
