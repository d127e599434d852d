"""Data sets, transforms and demo-data generators."""
from .demo_data import GENERATORS, make_digits, stratified_split  # noqa: F401
from .synthetic_coco import make_synthetic_coco  # noqa: F401  (adds GENERATORS['coco'])
from .synthetic_ade import SyntheticADEDataset, make_synthetic_ade  # noqa: F401  (adds 'ade')
from . import cifar10_dvs, event_transforms, synthetic_cifar, synthetic_dvs  # noqa: F401

__all__ = [
    'GENERATORS', 'SyntheticADEDataset', 'make_digits', 'make_synthetic_ade', 'make_synthetic_coco',
    'stratified_split'
]
