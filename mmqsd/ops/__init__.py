from .lsq import (SUPPORTED_WEIGHT_BITS, check_weight_bits, lsq_fake_quant, lsq_init_step,
                  lsq_integer_weights, round_ste, scale_grad, signed_range)
from .spiking import (counts_to_spike_train, heaviside_rect, ie_lif, ie_lif_counts,
                      lif_multistep)

__all__ = [
    'SUPPORTED_WEIGHT_BITS', 'check_weight_bits', 'lsq_fake_quant', 'lsq_init_step',
    'lsq_integer_weights', 'round_ste', 'scale_grad', 'signed_range', 'counts_to_spike_train',
    'heaviside_rect', 'ie_lif', 'ie_lif_counts', 'lif_multistep'
]
