"""Utilities; importing this package applies :mod:`mmqsd.utils.compat` and turns on
huge-page CPU allocations (:mod:`mmqsd.utils.cpu_memory`)."""
from . import compat, cpu_memory

cpu_memory.enable_huge_page_allocations()
compat.apply()

__all__ = ['compat', 'cpu_memory']
