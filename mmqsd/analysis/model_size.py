"""Parameter counts and the 32-bit-equivalent model size (QSD Table 1 "Param (M)").

Conventions (checked against the paper): ``params`` counts every weight,
bias, BN/MPRF affine and layer scale, and leaves out the LSQ step sizes
(quantiser metadata, one per output channel).  ``params_32bit_equiv`` is the
paper's size measure: the quantised weights counted at ``b/32`` of a 32-bit
parameter, ``sum_l numel(W_l) * b_l / 32``.  QSD-T/M/L at 4 bits give 1.877M /
3.899M / 6.895M, which the paper lists as 1.8M / 3.8M (Appendix G.1; 3.9M in
Table 1) / 6.8M.  ``params_32bit_equiv_with_fp`` adds the full-precision
remainder (biases, BN, layer scales) at full size.
"""
from collections import Counter

from torch import nn

from ..layers import LSQWeightMixin


def model_size(model: nn.Module) -> dict:
    """Return the size summary of ``model`` (see module docstring)."""
    quant_weights, params, steps = 0, 0, 0
    equiv = 0.0
    bits = Counter()
    quant_weight_ids = set()
    for module in model.modules():
        if isinstance(module, LSQWeightMixin) and module.quantized:
            numel = module.weight.numel()
            quant_weights += numel
            equiv += numel * module.weight_bits / 32
            bits[module.weight_bits] += numel
            quant_weight_ids.add(id(module.weight))
            steps += module.step_size.numel()
    step_ids = {id(m.step_size) for m in model.modules()
                if isinstance(m, LSQWeightMixin) and m.quantized}
    for param in model.parameters():
        if id(param) not in step_ids:
            params += param.numel()
    full_precision_rest = params - quant_weights
    weight_bits = sorted(bits)[0] if len(bits) == 1 else (dict(bits) if bits else None)
    return dict(
        params=params,
        params_32bit_equiv=int(round(equiv)) if bits else params,
        params_32bit_equiv_with_fp=int(round(equiv)) + full_precision_rest if bits else params,
        quantized_weight_params=quant_weights,
        lsq_step_params=steps,
        weight_bits=weight_bits,
    )
