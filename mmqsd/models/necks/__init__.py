from ...layers import SpikingConv, SpikingConvNorm, spiking_conv_norm
from .spiking_fpn import SpikingFPN
from .spiking_norm_fpn import SpikingNormFPN

__all__ = ['SpikingConv', 'SpikingFPN', 'SpikingConvNorm', 'SpikingNormFPN', 'spiking_conv_norm']
