from .qsd_transformer import ARCH_SETTINGS, QSDTransformer, resolve_arch

__all__ = ['ARCH_SETTINGS', 'QSDTransformer', 'resolve_arch']
