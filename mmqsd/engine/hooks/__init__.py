from .compile_hook import CompileHook
from .firing_rate_hook import FiringRateHook

__all__ = ['CompileHook', 'FiringRateHook']
