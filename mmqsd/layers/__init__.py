from .neurons import IELIF, LIF, build_neuron
from .norm import MPRF, SeqBatchNorm1d, SeqBatchNorm2d, affine_of_bn
from .qsd_blocks import (ATTENTION_MODES, MLP, QSDSA, BNAndPad, ConvBlock, ConvBNNeuron,
                         Downsample, QKVBranch, RepConv, SepConv, TransformerBlock,
                         check_attention_mode, multi_head_attention, split_heads)
from .quant import LSQWeightMixin, QuantConv1d, QuantConv2d, QuantLinear
from .spike_train import ScaledInteger, SpikeTrain, map_values, spike_matmul, synaptic_forward

__all__ = [
    'IELIF', 'LIF', 'build_neuron', 'MPRF', 'SeqBatchNorm1d', 'SeqBatchNorm2d', 'affine_of_bn',
    'MLP', 'QSDSA', 'BNAndPad', 'ConvBlock', 'Downsample', 'QKVBranch', 'RepConv', 'SepConv',
    'TransformerBlock', 'ATTENTION_MODES', 'ConvBNNeuron', 'check_attention_mode',
    'multi_head_attention', 'split_heads', 'LSQWeightMixin', 'QuantConv1d', 'QuantConv2d',
    'QuantLinear',
    'ScaledInteger', 'SpikeTrain', 'map_values', 'spike_matmul', 'synaptic_forward'
]
from .act_quant import LSQActQuant, build_activation  # noqa: E402
from .if_neurons import DelayedIFNeuron, IFNeuron  # noqa: E402
from .tailored import (ConvBN, TailoredAttention, TailoredBlock, TailoredMLP,  # noqa: E402
                       TokenizerStage, build_tokenizer, merge_token_heads, split_token_heads)
from .tdec import TDECMatMul, TDECMaxPool2d  # noqa: E402

__all__ += [
    'LSQActQuant', 'build_activation', 'DelayedIFNeuron', 'IFNeuron', 'ConvBN',
    'TailoredAttention', 'TailoredBlock', 'TailoredMLP', 'TokenizerStage', 'build_tokenizer',
    'merge_token_heads', 'split_token_heads', 'TDECMatMul', 'TDECMaxPool2d'
]
