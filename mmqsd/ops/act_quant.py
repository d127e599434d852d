"""LSQ fake-quantisation of unsigned activations (CSDformer Sec. 3.2, Eq. 9; Esser et al. 2020).

``x_bar = round(clip(x / s, 0, L))`` (the integer code, a spike count in the SNN) and
``x_hat = s * x_bar`` with a learnable per-tensor step ``s``.  This is the QCFS
quantiser of Eq. 8, ``lambda/L * clip(floor(x L / lambda + 1/2), 0, L)``, with
``lambda = L * s`` (CSDformer Sec. 3.2, Eq. 8-9): the clipping threshold
``lambda`` becomes the firing threshold of the converted neuron.

* Rounding is round-half-*up* (``floor(z + 1/2)``), not torch's round-half-even:
  a delayed IF neuron with ``v(0) = theta/2`` that fires at ``v >= theta`` rounds
  exactly that way (CSDformer Sec. 3.2 and Appendix A).
* Gradients are LSQ's: straight-through for ``x`` inside ``[0, L*s]`` (zero
  outside); for ``s``: ``round(z) - z`` inside, 0 below, ``L`` above, scaled by
  ``g = 1 / sqrt(N_feat * L)`` with ``N_feat`` the features of one sample.
* Statistical initialisation ``s0 = 2 E|x| / sqrt(L)`` (LSQ's rule with
  ``Q_P = L``); the paper credits it for LSQ converging where QCFS's fixed
  ``lambda = 8`` did not.  [M]: the paper's exact init is not shown.
"""
import math
from typing import Optional

import torch

from .lsq import scale_grad


def check_levels(levels: int) -> int:
    """Validate the quantisation level ``L`` (= the SNN time window ``T``)."""
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ValueError(f'levels (the quantisation level L = time window T) must be a '
                         f'positive int, got {levels!r}')
    return levels


def round_half_up_ste(x: torch.Tensor) -> torch.Tensor:
    """``floor(x + 1/2)`` in the forward pass, identity in the backward pass."""
    return x + (torch.floor(x + 0.5) - x).detach()


def lsq_act_init_step(x: torch.Tensor, levels: int) -> torch.Tensor:
    """LSQ's statistical initial step ``2 * mean|x| / sqrt(L)`` (never zero)."""
    return (2 * x.detach().abs().mean() / math.sqrt(check_levels(levels))).clamp_min(1e-8)


def lsq_act_grad_scale(x: torch.Tensor, levels: int) -> float:
    """LSQ's step-gradient scale ``1 / sqrt(N_feat * L)``, ``N_feat`` = features per sample."""
    per_sample = x[0].numel() if x.dim() > 1 else x.numel()
    return 1.0 / math.sqrt(max(per_sample, 1) * levels)


def lsq_act_quant(x: torch.Tensor, step: torch.Tensor, levels: int,
                  grad_scale: Optional[float] = None) -> torch.Tensor:
    """Eq. 9: ``step * round_half_up(clip(x / step, 0, levels))`` with LSQ gradients."""
    levels = check_levels(levels)
    if grad_scale is None:
        grad_scale = lsq_act_grad_scale(x, levels)
    step = scale_grad(step, grad_scale)
    return round_half_up_ste(torch.clamp(x / step, 0, levels)) * step


def lsq_act_counts(x: torch.Tensor, step: torch.Tensor, levels: int) -> torch.Tensor:
    """The integer codes ``x_bar`` of Eq. 9 (spike counts of the converted neuron), no gradient."""
    return torch.floor(torch.clamp(x.detach() / step.detach(), 0, check_levels(levels)) + 0.5)
