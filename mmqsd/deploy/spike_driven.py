"""Spike-driven inference form of an mmqsd model (QSD Fig. 1b, Eq. 10).

Every IE-LIF emits ``levels`` binary spikes over virtual time steps instead of
a multi-bit value, every binary LIF emits a one-step train, and every consumer
(quantised conv / linear, the attention products) accumulates binary inputs;
see :mod:`mmqsd.deploy.spike_train`.  The outputs equal the multi-bit model's
up to floating-point summation order.
"""
from torch import nn

from .forms import convert, spiking_neurons
from .spike_train import SpikeCounts, SpikeTrain


def to_spike_driven(model: nn.Module, integer: bool = False) -> nn.Module:
    """A copy of ``model`` in eval mode that runs spike-driven (binary spikes only).

    The default is the reference form: every quantised layer becomes a
    :class:`~mmqsd.deploy.FloatSynapse` with the training form's float weights,
    through which each binary step runs.  ``integer=True`` returns the
    deployment form: norms folded, uint8 spikes, int8 weights and int32
    accumulation over all steps (:class:`~mmqsd.deploy.Int8Synapse`).
    """
    return convert(model, 'spike-integer' if integer else 'spike')


class SpikeValueRecorder:
    """Context manager collecting the distinct values of every emitted spike tensor."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.values = set()
        self.handles = []

    def _hook(self, module, inputs, output):
        if isinstance(output, (SpikeTrain, SpikeCounts)):
            output = output.data_tensor
        self.values.update(float(v) for v in output.detach().unique().tolist())

    def __enter__(self):
        self.handles = [m.register_forward_hook(self._hook) for _, m in spiking_neurons(self.model)]
        return self

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()


def max_relative_error(reference, other) -> float:
    """``max|reference - other| / max|reference|`` over tensors or sequences of tensors."""
    if isinstance(reference, (list, tuple)):
        return max(max_relative_error(r, o) for r, o in zip(reference, other))
    denom = reference.detach().abs().max().clamp_min(1e-30)
    return float((reference.detach() - other.detach()).abs().max() / denom)
