"""Spike-driven inference form of an mmqsd model (QSD Fig. 1b, Eq. 10).

Every IE-LIF emits ``levels`` binary spikes over virtual time steps instead of
a multi-bit value, every binary LIF emits a one-step train, and every consumer
(quantised conv / linear, the attention products) accumulates binary inputs;
see :mod:`mmqsd.layers.spike_train`.  The outputs equal the multi-bit model's
up to floating-point summation order.
"""
import copy

from torch import nn

from ..layers import IELIF, LIF, ScaledInteger, SpikeTrain

SPIKING_NEURONS = (IELIF, LIF)


def spiking_neurons(model: nn.Module):
    """``(name, module)`` of every spiking neuron in ``model``."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, SPIKING_NEURONS)]


def set_neuron_output(model: nn.Module, flag: str, enabled: bool, purpose: str) -> nn.Module:
    """Set the output-form ``flag`` (``spike_driven`` / ``integer_counts``) of every neuron."""
    neurons = spiking_neurons(model)
    if not neurons:
        raise ValueError(f'{type(model).__name__} has no mmqsd spiking neuron (IELIF/LIF); '
                         f'only mmqsd models have {purpose}')
    for _, neuron in neurons:
        setattr(neuron, flag, enabled)
    return model


def set_spike_driven(model: nn.Module, enabled: bool = True) -> nn.Module:
    """Switch every neuron of ``model`` (in place) to binary spike-train output."""
    return set_neuron_output(model, 'spike_driven', enabled, 'a spike-driven form')


def to_spike_driven(model: nn.Module, integer: bool = False) -> nn.Module:
    """A copy of ``model`` in eval mode that runs spike-driven (binary spikes only).

    The default keeps the training form's float layers (each binary step runs
    through them: the reference for equivalence checks).  ``integer=True``
    returns the deployment form: norms folded, uint8 spikes, int8 weights and
    int32 accumulation over all steps
    (:func:`~mmqsd.deploy.to_integer_inference` with ``spike_driven=True``).
    """
    if integer:
        from .integer_inference import to_integer_inference
        return to_integer_inference(model, spike_driven=True)
    return set_spike_driven(copy.deepcopy(model).eval(), True)


class SpikeValueRecorder:
    """Context manager collecting the distinct values of every emitted spike tensor."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.values = set()
        self.handles = []

    def _hook(self, module, inputs, output):
        if isinstance(output, SpikeTrain):
            tensor = output.spikes
        else:
            tensor = output.values if isinstance(output, ScaledInteger) else output
        self.values.update(float(v) for v in tensor.detach().unique().tolist())

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
