from .spiking_fpn import SpikingConv, SpikingFPN
from .spiking_norm_fpn import SpikingConvNorm, SpikingNormFPN, spiking_conv_norm

__all__ = ['SpikingConv', 'SpikingFPN', 'SpikingConvNorm', 'SpikingNormFPN', 'spiking_conv_norm']
