from .attention import (ATTENTION_MODES, AttentionProducts, SpikeProductAttention,
                        check_attention_mode, merge_heads, multi_head_attention, split_heads)
from .neurons import IELIF, LIF, SpikingNeuron, build_neuron
from .norm import MPRF, SeqBatchNorm1d, SeqBatchNorm2d, affine_of_bn
from .qsd_blocks import (MLP, QSDSA, BNAndPad, ConvBlock, ConvBNNeuron, Downsample, QKVBranch,
                         RepConv, SepConv, TransformerBlock)
from .quant import LSQWeightMixin, QuantConv1d, QuantConv2d, QuantLinear
from .spiking import (SpikeMaxPool2d, SpikeReadout, SpikeSum, SpikingConv, SpikingConvNorm,
                      check_time_steps, neuron_config, spiking_conv_norm, to_multistep)

__all__ = [
    'IELIF', 'LIF', 'SpikingNeuron', 'build_neuron', 'MPRF', 'SeqBatchNorm1d', 'SeqBatchNorm2d',
    'affine_of_bn', 'MLP', 'QSDSA', 'BNAndPad', 'ConvBlock', 'Downsample', 'QKVBranch', 'RepConv',
    'SepConv', 'TransformerBlock', 'ATTENTION_MODES', 'AttentionProducts',
    'SpikeProductAttention', 'ConvBNNeuron', 'check_attention_mode', 'merge_heads',
    'multi_head_attention', 'split_heads', 'LSQWeightMixin', 'QuantConv1d', 'QuantConv2d',
    'QuantLinear', 'SpikeMaxPool2d', 'SpikeReadout', 'SpikeSum', 'SpikingConv',
    'SpikingConvNorm', 'check_time_steps', 'neuron_config', 'spiking_conv_norm', 'to_multistep'
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
