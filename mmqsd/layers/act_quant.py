"""LSQ activation quantiser module (CSDformer Sec. 3.2, Eq. 9) and the ReLU/quantiser switch.

The quantised transformer replaces *every* ReLU of the tailored transformer,
the one inside NReLU included, by :class:`LSQActQuant`.  Its clipping threshold
``lambda = L * s`` becomes the firing threshold of the converted IF/DIF neuron
(Sec. 3.3.1) and ``L`` its time window.
"""
from typing import Optional

import torch
import torch.distributed as dist
from torch import nn

from ..ops import check_levels, lsq_act_init_step, lsq_act_quant


class LSQActQuant(nn.Module):
    """``s * round_half_up(clip(x / s, 0, L))`` with a learnable per-tensor step ``s``.

    The step is initialised from the first batch it sees (LSQ's
    ``2 E|x| / sqrt(L)``, averaged over processes in distributed training) and
    ``initialized`` is stored with the checkpoint.  [M]: the paper does not say
    per-tensor or per-channel; per-tensor is the natural reading and gives one
    firing threshold per neuron layer.

    Args:
        levels: quantisation level ``L`` (the paper uses 4; = time window ``T``).
    """

    def __init__(self, levels: int = 4):
        super().__init__()
        self.levels = check_levels(levels)
        # Shape (1,) rather than () so that optimiser `flat_decay_mult` covers it.
        self.step = nn.Parameter(torch.ones(1))
        self.register_buffer('initialized', torch.tensor(False))

    @property
    def threshold(self) -> torch.Tensor:
        """The clipping threshold ``lambda = L * s`` (= the SNN firing threshold)."""
        return self.levels * self.step.detach()

    @torch.no_grad()
    def _initialize(self, x: torch.Tensor) -> None:
        step = lsq_act_init_step(x, self.levels)
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(step)
            step /= dist.get_world_size()
        self.step.copy_(step.reshape(1))
        self.initialized.fill_(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not bool(self.initialized):
            self._initialize(x)
        return lsq_act_quant(x, self.step, self.levels)

    def extra_repr(self) -> str:
        return f'levels={self.levels}'


def build_activation(levels: Optional[int]) -> nn.Module:
    """``nn.ReLU`` for the float model (``levels=None``), else :class:`LSQActQuant`."""
    return nn.ReLU() if levels is None else LSQActQuant(levels)
