from .energy import (OpCounter, bit_discount, count_energy, format_energy, format_ops,
                     summarize_energy, summarize_parts)
from .firing_rate import FiringRateMonitor, measure_firing_rates
from .model_size import model_size

__all__ = [
    'OpCounter', 'bit_discount', 'count_energy', 'format_energy', 'format_ops',
    'summarize_energy', 'summarize_parts', 'FiringRateMonitor', 'measure_firing_rates',
    'model_size'
]
