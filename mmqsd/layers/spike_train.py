"""Binary spike trains over virtual time steps, and the synapses that consume them.

In the spike-driven inference form (QSD Fig. 1b, Eq. 10) a neuron emits a
:class:`SpikeTrain`: ``D`` binary tensors ``s[0..D-1]`` and the value ``scale``
of one spike, standing for ``scale * sum_t s[t]``.  Consumers never densify it:

* a synapse (conv / linear, linear in its input) runs on every binary step and
  accumulates, ``y = scale * sum_t W s[t] + b`` (:func:`synaptic_forward`);
* a product of two spike tensors is expanded over all step pairs so that every
  matrix product has binary operands, ``(sum_i a_i)(sum_j b_j) = sum_ij a_i b_j``
  (:func:`spike_matmul`).  ``(sum_t q_t)(sum_t k_t)^T != sum_t q_t k_t^T``, so the
  per-step shortcut would be wrong.  The integer form (uint8 spikes, see
  :func:`mmqsd.deploy.to_integer_inference`) computes the same sum as
  ``sum_i a_i (sum_j b_j)``: ``D`` products whose left operand is binary and
  gates additions of ``b``'s integer counts, instead of ``D^2`` products.
"""
from dataclasses import dataclass
from typing import Callable, Optional, Union

import torch


@dataclass
class SpikeTrain:
    """``spikes``: (D, *shape) binary tensor; ``scale``: value carried by one spike."""
    spikes: torch.Tensor
    scale: float

    @property
    def num_steps(self) -> int:
        return self.spikes.shape[0]

    @property
    def shape(self) -> torch.Size:
        return self.spikes.shape[1:]

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> 'SpikeTrain':
        """Apply a value-preserving op (reshape, permute, pooling of a mask...) per step.

        ``fn`` receives a tensor with a leading step axis, so it must address the
        other axes with negative indices.
        """
        return SpikeTrain(fn(self.spikes), self.scale)

    def to_dense(self) -> torch.Tensor:
        """The multi-bit value ``scale * sum_t s[t]`` (for checks and analysis only)."""
        return self.spikes.sum(0) * self.scale


@dataclass
class ScaledInteger:
    """Integer spike counts ``values`` (int8 or integer-valued) times one ``scale``.

    The form used by exact integer inference (:func:`mmqsd.deploy.to_integer_inference`):
    a neuron hands its counts ``k`` to the next synapse, which multiplies them
    with integer weights in int8 / int32 and applies ``scale`` afterwards.
    """
    values: torch.Tensor
    scale: float

    @property
    def shape(self) -> torch.Size:
        return self.values.shape

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> 'ScaledInteger':
        return ScaledInteger(fn(self.values), self.scale)

    def to_dense(self) -> torch.Tensor:
        return self.values.float() * self.scale


SpikeOrTensor = Union[torch.Tensor, SpikeTrain, ScaledInteger]


def map_values(x: SpikeOrTensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> SpikeOrTensor:
    """Apply a shape op written with negative axes to a tensor, spike train or counts."""
    return x.map(fn) if isinstance(x, (SpikeTrain, ScaledInteger)) else fn(x)


def fold_batch(x: torch.Tensor, op: Callable, sample_dims: int) -> torch.Tensor:
    lead = x.shape[:x.dim() - sample_dims]
    out = op(x.reshape(-1, *x.shape[x.dim() - sample_dims:]))
    return out.reshape(*lead, *out.shape[1:])


def synaptic_forward(x: SpikeOrTensor, op: Callable, bias: Optional[torch.Tensor],
                     sample_dims: int) -> torch.Tensor:
    """Run a linear synaptic ``op(batch, bias)`` on ``x``, adding ``bias`` once.

    ``op`` takes a batch ``(N, *sample)`` where ``sample`` has ``sample_dims``
    axes (3 for conv2d, 2 for conv1d, 1 for linear); every leading axis of ``x``
    (time, batch, and for a spike train the virtual steps) is folded into ``N``.
    A tensor gets the bias inside ``op`` (one pass fewer); a spike train or
    integer counts get ``op(batch, None)`` and the bias after the scaled sum.
    """
    if isinstance(x, torch.Tensor):
        return fold_batch(x, lambda batch: op(batch, bias), sample_dims)
    no_bias = lambda batch: op(batch, None)  # noqa: E731
    if isinstance(x, SpikeTrain):
        y = fold_batch(_as_float(x.spikes), no_bias, sample_dims).sum(0) * x.scale
    else:
        y = fold_batch(x.values.to(torch.get_default_dtype()), no_bias, sample_dims) * x.scale
    if bias is not None:
        y = y + bias.view(-1, *([1] * (sample_dims - 1)))
    return y


def spike_matmul(a: SpikeOrTensor, b: SpikeOrTensor) -> torch.Tensor:
    """``dense(a) @ dense(b)`` computed with binary operands where given spike trains.

    Two spike trains: ``sa * sb * sum_ij a_i @ b_j`` (all step pairs, each a
    binary x binary product).  One spike train and a tensor ``c`` (e.g. the
    accumulated integer count ``K^T V``): ``sa * sum_i a_i @ c``, binary rows
    gating additions of ``c``.  Integer counts (:class:`ScaledInteger`) are
    multiplied as integer-valued floats, exact below 2^24.
    """
    if isinstance(a, ScaledInteger) or isinstance(b, ScaledInteger):
        return _integer_matmul(a, b)
    if isinstance(a, SpikeTrain) and isinstance(b, SpikeTrain):
        if not a.spikes.is_floating_point():  # integer form: b's steps summed first
            return _gated_sum(a.spikes, b.spikes.sum(0, dtype=torch.get_default_dtype())) \
                * (a.scale * b.scale)
        pairs = a.spikes.unsqueeze(1) @ b.spikes.unsqueeze(0)
        return pairs.sum((0, 1)) * (a.scale * b.scale)
    if isinstance(a, SpikeTrain):
        return _gated_sum(a.spikes, b) * a.scale
    if isinstance(b, SpikeTrain):
        return (a @ _as_float(b.spikes)).sum(0) * b.scale
    return a @ b


def _gated_sum(spikes: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``sum_t spikes[t] @ dense`` as one matmul: binary rows of every step select
    and add rows of ``dense``; the steps are stacked along the row axis."""
    steps = spikes.shape[0]
    rows = spikes.movedim(0, -3)  # (..., D, M, K), stacked and converted in one copy
    stacked = torch.empty(rows.shape, dtype=dense.dtype, device=rows.device).copy_(rows)
    return (stacked.flatten(-3, -2) @ dense).unflatten(-2, (steps, -1)).sum(-3)


def _as_float(spikes: torch.Tensor) -> torch.Tensor:
    """Spikes as the default float dtype where they are stored as uint8 (integer form)."""
    return spikes if spikes.is_floating_point() else spikes.to(torch.get_default_dtype())


def _integer_matmul(a: SpikeOrTensor, b: SpikeOrTensor) -> torch.Tensor:
    """Product with integer counts on one or both sides; scales applied at the end."""
    scale = 1.0
    operands = []
    for x in (a, b):
        if isinstance(x, ScaledInteger):
            scale *= x.scale
            x = x.values.to(torch.get_default_dtype())
        elif isinstance(x, SpikeTrain):
            x = x.to_dense()
        operands.append(x)
    return (operands[0] @ operands[1]) * scale
