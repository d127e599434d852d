"""Binary spike trains over virtual time steps and integer spike counts, as tensors.

In the spike-driven inference form (QSD Fig. 1b, Eq. 10) a neuron emits a
:class:`SpikeTrain`: a binary tensor ``s`` of shape ``(D, *shape)`` (``D``
virtual steps first) that stands for ``scale * sum_t s[t]``.  In the exact
integer form it emits :class:`SpikeCounts`: integer counts ``k`` standing for
``scale * k``.  Both are :class:`torch.Tensor` subclasses holding the spikes
(or counts) themselves, so forward hooks and tensor-based tools read them
directly; ``scale`` (the value of one spike) travels with the tensor to the
next synapse.  Torch ops on them return plain tensors (no subclass
propagation); the deployed modules of :mod:`mmqsd.deploy.modules` consume them
without densifying:

* a synapse (conv / linear, linear in its input) runs on every binary step and
  accumulates, ``y = scale * sum_t W s[t] + b`` (:func:`synaptic_forward`);
* a product of two spike tensors is expanded over all step pairs so that every
  matrix product has binary operands, ``(sum_i a_i)(sum_j b_j) = sum_ij a_i b_j``
  (:func:`spike_matmul`).  ``(sum_t q_t)(sum_t k_t)^T != sum_t q_t k_t^T``, so the
  per-step shortcut would be wrong.  The integer form (uint8 spikes) computes
  the same sum as ``sum_i a_i (sum_j b_j)``: ``D`` products whose left operand
  is binary and gates additions of ``b``'s integer counts, instead of ``D^2``.
"""
from typing import Callable, Optional, Union

import torch

from ..layers.multistep import fold_batch


class _ScaledTensor(torch.Tensor):
    """A tensor with a ``scale`` (value of one unit); ops return plain tensors."""

    __torch_function__ = torch._C._disabled_torch_function_impl

    def __new__(cls, data: torch.Tensor, scale: float):
        out = data.as_subclass(cls)
        out.scale = float(scale)
        return out

    def __init__(self, data: torch.Tensor, scale: float):
        pass

    @property
    def data_tensor(self) -> torch.Tensor:
        """The raw spikes / counts as a plain tensor (a view)."""
        return self.as_subclass(torch.Tensor)

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]):
        """Apply a value-preserving op (reshape, permute, pooling of a mask...).

        For a :class:`SpikeTrain` ``fn`` receives a tensor with a leading step
        axis, so it must address the other axes with negative indices.
        """
        return type(self)(fn(self.data_tensor), self.scale)

    def __repr__(self):
        return f'{type(self).__name__}(scale={self.scale:g}, {self.data_tensor!r})'

    def __reduce_ex__(self, proto):  # picklable as (data, scale)
        return type(self), (self.data_tensor.clone(), self.scale)


class SpikeTrain(_ScaledTensor):
    """Binary spikes ``(D, *shape)``, ``D`` virtual steps first; ``scale``: value of one spike."""

    @property
    def spikes(self) -> torch.Tensor:
        return self.data_tensor

    @property
    def num_steps(self) -> int:
        return self.data_tensor.shape[0]

    @property
    def value_shape(self) -> torch.Size:
        """Shape of the value the train stands for (without the step axis)."""
        return self.data_tensor.shape[1:]

    def to_dense(self) -> torch.Tensor:
        """The multi-bit value ``scale * sum_t s[t]`` (for checks and analysis only)."""
        spikes = self.data_tensor
        if not spikes.is_floating_point():
            spikes = spikes.to(torch.get_default_dtype())
        return spikes.sum(0) * self.scale


class SpikeCounts(_ScaledTensor):
    """Integer spike counts (uint8, or integer-valued) times one ``scale``.

    The form used by exact integer inference (:func:`mmqsd.deploy.to_integer_inference`):
    a neuron hands its counts ``k`` to the next synapse, which multiplies them
    with integer weights in int8 / int32 and applies ``scale`` afterwards.
    """

    @property
    def values(self) -> torch.Tensor:
        return self.data_tensor

    def to_dense(self) -> torch.Tensor:
        return self.data_tensor.to(torch.get_default_dtype()) * self.scale


SpikeOrTensor = Union[torch.Tensor, SpikeTrain, SpikeCounts]


def map_values(x: SpikeOrTensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> SpikeOrTensor:
    """Apply a shape op written with negative axes to a tensor, spike train or counts."""
    return x.map(fn) if isinstance(x, _ScaledTensor) else fn(x)


def to_value(x: SpikeOrTensor) -> torch.Tensor:
    """The value a spike train / counts stand for; a plain tensor unchanged."""
    return x.to_dense() if isinstance(x, _ScaledTensor) else x


def synaptic_forward(x: SpikeOrTensor, op: Callable, bias: Optional[torch.Tensor],
                     sample_dims: int) -> torch.Tensor:
    """Run a linear synaptic ``op(batch, bias)`` on ``x``, adding ``bias`` once.

    ``op`` takes a batch ``(N, *sample)`` where ``sample`` has ``sample_dims``
    axes (3 for conv2d, 2 for conv1d, 1 for linear); every leading axis of ``x``
    (time, batch, and for a spike train the virtual steps) is folded into ``N``.
    A tensor gets the bias inside ``op`` (one pass fewer); a spike train or
    integer counts get ``op(batch, None)`` and the bias after the scaled sum.
    """
    if not isinstance(x, _ScaledTensor):
        return fold_batch(x, lambda batch: op(batch, bias), sample_dims)
    no_bias = lambda batch: op(batch, None)  # noqa: E731
    if isinstance(x, SpikeTrain):
        y = fold_batch(_as_float(x.spikes), no_bias, sample_dims).sum(0) * x.scale
    else:
        y = fold_batch(_as_float(x.values), no_bias, sample_dims) * x.scale
    if bias is not None:
        y = y + bias.view(-1, *([1] * (sample_dims - 1)))
    return y


def spike_matmul(a: SpikeOrTensor, b: SpikeOrTensor) -> torch.Tensor:
    """``dense(a) @ dense(b)`` computed with binary operands where given spike trains.

    Two spike trains: ``sa * sb * sum_ij a_i @ b_j`` (all step pairs, each a
    binary x binary product).  One spike train and a tensor ``c`` (e.g. the
    accumulated integer count ``K^T V``): ``sa * sum_i a_i @ c``, binary rows
    gating additions of ``c``.  Integer counts (:class:`SpikeCounts`) are
    multiplied as integer-valued floats, exact below 2^24.
    """
    if isinstance(a, SpikeCounts) or isinstance(b, SpikeCounts):
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
        if isinstance(x, SpikeCounts):
            scale *= x.scale
            x = x.values.to(torch.get_default_dtype())
        elif isinstance(x, SpikeTrain):
            x = x.to_dense()
        operands.append(x)
    return (operands[0] @ operands[1]) * scale
