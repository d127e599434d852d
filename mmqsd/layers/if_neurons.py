"""IF and delayed IF (DIF) neurons of the converted CSDformer (Appendix A Eq. 15; Algorithm 1).

A neuron receives ``T`` input currents ``I(1..T)`` and emits ``T`` binary
output frames.  The DIF neuron of Algorithm 1 runs ``T + D`` steps::

    for t = 1 .. T + D:
        if t <= T:  v += I(t)                              # line 3: integrate
        if t >  D:  s(t - D) = H(v - theta); v -= s theta  # lines 6-7: fire, soft reset

so for the first ``D`` steps it only integrates, then integrates and fires,
and after step ``T`` only fires, emptying its potential.  ``D = 0`` is the
plain IF neuron.  With ``D >= T - 1`` all input is integrated before the first
firing test, the spike count no longer depends on the temporal order of the
input (no unevenness error) and equals the quantiser's integer code exactly
(CSDformer Appendix C, Table 4: D = T - 1).  The output is re-indexed to ``1..T`` (frame ``t - D``),
so every layer sees a ``T``-frame input and a layer costs ``T + D`` steps, the
paper's accounting ("7 time-steps" for T = 4, D = 3).  [M]: the paper does not
show the output index; a pipelined implementation without re-indexing would
take ``T + n D`` steps through ``n`` neuron layers.

``v(0) = theta / 2`` (``init_ratio = 0.5``) reproduces the quantiser's
rounding (QCFS shift 1/2; Bu et al. 2022, CSDformer ref. [18]).  The threshold absorbs every
constant scaling of the layer (Sec. 3.3.1); an input-dependent factor (the
token count ``N`` of NReLU) is passed per run as ``threshold_scale``.
"""
from typing import Optional

import torch
from torch import nn

from ..ops import if_charge, if_fire


def _check_delay(delay: int) -> int:
    if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
        raise ValueError(f'delay D must be a non-negative int (0 = plain IF neuron), got {delay!r}')
    return delay


class DelayedIFNeuron(nn.Module):
    """Delayed integrate-and-fire neuron (Algorithm 1), stateful with step/reset.

    Args:
        threshold: firing threshold (scalar or broadcastable tensor).
        delay: ``D``, the steps the neuron only integrates before it may fire.
        init_ratio: initial potential as a fraction of the threshold (0.5).
    """

    def __init__(self, threshold, delay: int = 0, init_ratio: float = 0.5):
        super().__init__()
        self.register_buffer('threshold', torch.as_tensor(threshold).detach().clone())
        self.delay = delay
        self.init_ratio = float(init_ratio)
        self.reset()

    @property
    def delay(self) -> int:
        """``D``: steps the neuron only integrates before it may fire."""
        return self._delay

    @delay.setter
    def delay(self, value: int) -> None:
        self._delay = _check_delay(value)

    def reset(self, threshold_scale: float = 1.0) -> None:
        """Clear the membrane potential and the step counter before a new input."""
        self.v: Optional[torch.Tensor] = None
        self.t = 0
        self._theta = self.threshold * threshold_scale

    def step(self, current: Optional[torch.Tensor] = None) -> Optional[torch.Tensor]:
        """Advance one step; ``current`` is None once the ``T`` inputs are over.

        Returns the binary output frame, or None during the first ``D`` steps.
        """
        self.t += 1
        if current is not None:
            if self.v is None:
                self.v = torch.zeros_like(current) + self.init_ratio * self._theta
            self.v = if_charge(self.v, current)
        if self.t <= self.delay:
            return None
        if self.v is None:
            raise RuntimeError('DelayedIFNeuron fired before it received any input current')
        spikes, self.v = if_fire(self.v, self._theta)
        return spikes

    def forward(self, currents: torch.Tensor, threshold_scale: float = 1.0) -> torch.Tensor:
        """Run ``T + D`` steps on ``(T, ...)`` currents; returns ``(T, ...)`` binary spikes."""
        self.reset(threshold_scale)
        num_steps = currents.shape[0]
        frames = [self.step(currents[t] if t < num_steps else None)
                  for t in range(num_steps + self.delay)]
        self.v = None  # the state is not needed after the run
        return torch.stack([f for f in frames if f is not None])

    def extra_repr(self) -> str:
        return f'threshold={self.threshold.flatten()[:1].item():.4g}, delay={self.delay}'


class IFNeuron(DelayedIFNeuron):
    """Plain integrate-and-fire neuron (Eq. 15, soft reset): the DIF neuron with ``D = 0``."""

    def __init__(self, threshold, init_ratio: float = 0.5):
        super().__init__(threshold, delay=0, init_ratio=init_ratio)
