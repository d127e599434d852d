"""Utilities; importing this package applies :mod:`mmqsd.utils.compat`."""
from . import compat

compat.apply()

__all__ = ['compat']
