from .qsd_cls_head import QSDClsHead

__all__ = ['QSDClsHead']
