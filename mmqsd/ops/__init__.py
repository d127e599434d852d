from .lsq import (SUPPORTED_WEIGHT_BITS, check_weight_bits, lsq_fake_quant, lsq_init_step,
                  lsq_integer_weights, round_ste, scale_grad, signed_range)
from .spiking import (counts_from_potential, counts_to_spike_bytes, counts_to_spike_train,
                      heaviside_rect, ie_lif, ie_lif_counts, lif_multistep)

__all__ = [
    'SUPPORTED_WEIGHT_BITS', 'check_weight_bits', 'lsq_fake_quant', 'lsq_init_step',
    'lsq_integer_weights', 'round_ste', 'scale_grad', 'signed_range', 'counts_from_potential',
    'counts_to_spike_bytes', 'counts_to_spike_train', 'heaviside_rect', 'ie_lif', 'ie_lif_counts',
    'lif_multistep'
]
from .act_quant import (check_levels, lsq_act_counts, lsq_act_grad_scale, lsq_act_init_step,
                        lsq_act_quant, round_half_up_ste)
from .integrate_fire import if_charge, if_fire
from .temporal_decomposition import is_binary, tdec, tdec_matmul_step, tdec_maxpool2d_step

__all__ += [
    'check_levels', 'lsq_act_counts', 'lsq_act_grad_scale', 'lsq_act_init_step', 'lsq_act_quant',
    'round_half_up_ste', 'if_charge', 'if_fire', 'is_binary', 'tdec', 'tdec_matmul_step',
    'tdec_maxpool2d_step'
]
