"""Spiking-neuron functions (QSD paper Eq. 1-3, 9-10, 16).

* :func:`ie_lif` - IE-LIF multi-bit spikes, Eq. 9: ``a = round(clip(g*v, 0, L)) / norm``
  with a straight-through gradient inside ``0 < g*v < L``.  ``L`` (``levels``) is
  the paper's ``b``; the paper uses ``g = 1`` and ``norm = L``.  The authors'
  code uses ``g = L`` (``round(clip(4x, 0, 4)) / 4``), and ``norm = L/2`` in the
  attention neuron; both are reachable through the arguments.
* :func:`ie_lif_counts` / :func:`counts_to_spike_train` - the integer spike count
  ``n`` and its expansion into ``L`` binary spikes over virtual time steps
  (Eq. 10, Fig. 1b): ``sum_t s[t] = n``; :func:`counts_to_spike_bytes` is the
  uint8 form the integer kernels read.
* :func:`lif_multistep` - binary LIF over T steps, Eq. 1-3 with soft reset and
  the rectangle surrogate of Eq. 16.

Rounding is round-half-up (``floor(x + 0.5)``), as in the authors' code, not
torch's round-half-to-even.
"""
from typing import Optional

import torch


def _check_levels(levels: int) -> int:
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ValueError(f'IE-LIF levels (the paper\'s b) must be a positive int, got {levels!r}')
    return levels


class _IELIFFunction(torch.autograd.Function):
    """Eq. 9 with a straight-through gradient; keeps only a bool mask for backward and
    computes the output with one allocation (clamped values are >= 0, so
    ``floor(x + 1/2)`` rounds half up)."""

    @staticmethod
    def forward(ctx, v, levels: int, gain: float, norm: float):
        u = v * gain if gain != 1.0 else v
        inside = torch.gt(u, 0).logical_and_(torch.lt(u, levels))
        ctx.save_for_backward(inside)
        ctx.factor = gain / norm
        return torch.clamp(u, 0, levels).add_(0.5).floor_().div_(norm)

    @staticmethod
    def backward(ctx, grad):
        (inside, ) = ctx.saved_tensors
        return torch.mul(grad, inside).mul_(ctx.factor), None, None, None


def ie_lif(v: torch.Tensor, levels: int = 4, gain: float = 1.0,
           norm: Optional[float] = None) -> torch.Tensor:
    """Eq. 9: multi-bit IE-LIF output ``round(clip(gain*v, 0, levels)) / norm``."""
    levels = _check_levels(levels)
    return _IELIFFunction.apply(v, levels, float(gain), float(levels if norm is None else norm))


def ie_lif_counts(v: torch.Tensor, levels: int = 4, gain: float = 1.0) -> torch.Tensor:
    """Integer spike counts ``n = round_half_up(clip(gain*v, 0, levels))`` (no gradient).

    Computed as ``clip(floor(gain*v + 0.5), 0, levels)``, which is the same
    number (floor is monotonic) in fewer passes over memory.
    """
    u = v.detach() * gain if gain != 1.0 else v.detach()
    return torch.floor(u + 0.5).clamp_(0, _check_levels(levels))


def counts_from_potential(u: torch.Tensor, levels: int) -> torch.Tensor:
    """:func:`ie_lif_counts` of an already gain-scaled potential ``u``, as uint8 (the
    integer forms' spike counts).

    Clamping first makes the value non-negative, where truncation is floor.
    """
    return torch.clamp(u, 0, levels).add_(0.5).to(torch.uint8)


def counts_to_spike_train(counts: torch.Tensor, num_steps: int) -> torch.Tensor:
    """Eq. 10: expand counts ``n`` into ``num_steps`` binary spikes ``s[t] = [t < n]``.

    Returns a tensor of shape ``(num_steps, *counts.shape)`` with values in {0, 1}
    whose sum over the first axis equals ``counts``.
    """
    steps = torch.arange(num_steps, device=counts.device, dtype=counts.dtype)
    return (counts.unsqueeze(0) > steps.view(-1, *([1] * counts.dim()))).to(counts.dtype)


#: Integer types that hold one neuron's ``D`` uint8 spikes as one element.
_PACKED_STEPS = {2: torch.int16, 4: torch.int32, 8: torch.int64}


def counts_to_spike_bytes(counts: torch.Tensor, num_steps: int) -> torch.Tensor:
    """Eq. 10 for integer inference: uint8 spikes ``s[t] = [t < n]``, shape
    ``(num_steps, *counts.shape)``, stored with the steps innermost in memory.

    A synapse can then read the spikes of channel ``c`` at steps ``0..D-1`` as
    ``D`` adjacent input channels (``c * D + t``) without copying.  For ``D`` in
    2/4/8 the ``D`` bytes of a neuron are looked up as one integer (``n -> 1..10..0``
    patterns), twice as fast as comparing step by step.
    """
    order = sorted(range(counts.dim()), key=lambda d: -counts.stride(d))
    dense = counts.permute(order).contiguous()  # counts' memory order (a view if dense)
    if num_steps in _PACKED_STEPS and counts.dtype == torch.uint8:
        patterns = counts_to_spike_train(torch.arange(num_steps + 1, device=counts.device),
                                         num_steps)
        table = patterns.t().contiguous().to(torch.uint8).view(_PACKED_STEPS[num_steps])
        packed = torch.index_select(table.view(-1), 0, dense.view(-1).to(torch.int32))
        spikes = packed.view(torch.uint8).view(*dense.shape, num_steps)
    else:
        steps = torch.arange(num_steps, device=counts.device, dtype=counts.dtype)
        spikes = torch.gt(dense.unsqueeze(-1), steps).to(torch.uint8)
    inverse = sorted(range(counts.dim()), key=order.__getitem__)
    return spikes.permute(*inverse, counts.dim()).movedim(-1, 0)


class _HeavisideRect(torch.autograd.Function):
    """Heaviside step with the rectangle surrogate of Eq. 16."""

    @staticmethod
    def forward(ctx, x, width: float):
        ctx.save_for_backward(x)
        ctx.width = width
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x, ) = ctx.saved_tensors
        window = (x.abs() < ctx.width / 2).to(grad.dtype) / ctx.width
        return grad * window, None


def heaviside_rect(x: torch.Tensor, width: float = 1.0) -> torch.Tensor:
    """Eq. 2 + Eq. 16: ``Theta(x)`` forward, ``1/a * [|x| < a/2]`` backward."""
    return _HeavisideRect.apply(x, float(width))


def lif_multistep(x: torch.Tensor, tau: float = 0.5, threshold: float = 1.0,
                  surrogate_width: float = 1.0, reset: str = 'soft') -> torch.Tensor:
    """Binary LIF over the leading time axis of ``x`` (Eq. 1-3, soft reset).

    ``v[t] = h[t-1] + x[t]``;  ``s[t] = Theta(v[t] - threshold)``;
    ``h[t] = tau * v[t] - threshold * s[t]`` (Eq. 3 with the reset scaled by the
    threshold, identical to the paper for ``threshold = 1``), ``h[-1] = 0``.
    ``reset='hard'`` uses ``h[t] = tau * v[t] * (1 - s[t])`` instead, which with
    ``tau=0.5`` and a doubled threshold is SpikingJelly's LIF (tau=2, decay_input,
    hard reset to 0) used by SDT-V2, with ``v`` scaled by 2 (SDT-V2, Yao et al. ICLR 2024).
    The state starts from zero on every call.
    """
    if reset not in ('soft', 'hard'):
        raise ValueError(f"reset must be 'soft' (QSD Eq. 3) or 'hard' (SpikingJelly), got {reset!r}")
    h = torch.zeros_like(x[0])
    spikes = []
    for x_t in x:
        v = h + x_t
        s = heaviside_rect(v - threshold, surrogate_width)
        h = tau * v - threshold * s if reset == 'soft' else tau * v * (1 - s)
        spikes.append(s)
    return torch.stack(spikes)
