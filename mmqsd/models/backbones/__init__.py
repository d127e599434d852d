from .ann_transformer import ANNTransformer
from .csdformer import CSDformer
from .qsd_spikformer import SPIKFORMER_ARCHS, QSDSpikformer
from .qsd_transformer import ARCH_SETTINGS, QSDTransformer, resolve_arch

__all__ = [
    'ARCH_SETTINGS', 'ANNTransformer', 'CSDformer', 'QSDTransformer', 'resolve_arch',
    'SPIKFORMER_ARCHS', 'QSDSpikformer'
]
