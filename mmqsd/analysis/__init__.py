from .energy import OpCounter, bit_discount, count_energy, summarize_energy
from .firing_rate import FiringRateMonitor, measure_firing_rates
from .model_size import model_size

__all__ = [
    'OpCounter', 'bit_discount', 'count_energy', 'summarize_energy', 'FiringRateMonitor',
    'measure_firing_rates', 'model_size'
]
