"""Check that the spike-driven form of a model computes what the multi-bit form does."""
from typing import Optional

import torch
from torch import nn

from ..layers import MPRF
from .spike_driven import SpikeValueRecorder, max_relative_error, to_spike_driven


@torch.no_grad()
def randomize_statistics(model: nn.Module, seed: int = 0, layer_scale: float = 0.7) -> nn.Module:
    """Give an untrained model BN/MPRF statistics that make neurons fire at many levels.

    A freshly built model has identity BNs and layer scales of 1e-6, which
    leaves the attention branches numerically invisible; an equivalence check
    on it would prove little.  This sets running statistics and affines to
    random values around the neurons' firing range and layer scales to
    ``layer_scale`` (in place, returns ``model``).
    """
    gen = torch.Generator().manual_seed(seed)

    def uniform(like, low, high):
        return (torch.rand(like.shape, generator=gen) * (high - low) + low).to(like)

    for module in model.modules():
        if isinstance(module, (nn.modules.batchnorm._BatchNorm, MPRF)):
            module.running_mean.copy_(uniform(module.running_mean, -0.2, 0.2))
            module.running_var.copy_(uniform(module.running_var, 0.5, 2.0))
            module.weight.copy_(uniform(module.weight, 0.5, 1.5))
            module.bias.copy_(uniform(module.bias, -0.3, 1.2))
        for name, param in module.named_parameters(recurse=False):
            if name.startswith('layer_scale'):
                param.fill_(layer_scale)
    return model


@torch.no_grad()
def verify_spike_driven(model: nn.Module, inputs: torch.Tensor,
                        forward: Optional[callable] = None, integer: bool = False) -> dict:
    """Run ``model`` in multi-bit and spike-driven form on ``inputs``.

    ``integer`` checks the deployment form instead (uint8 spikes, int8 weights,
    int32 accumulation; :func:`to_spike_driven` with ``integer=True``).

    Returns ``max_rel_err`` (``max|y - y_sd| / max|y|`` over all outputs),
    ``spike_values`` (distinct values of every spike tensor emitted in the
    spike-driven run: {0, 1} when it really is binary), ``multibit_values``
    (distinct multi-bit neuron outputs, to show the neurons fired at several
    levels) and ``num_neurons``.
    """
    forward = forward or (lambda m, x: m(x))
    model = model.eval()
    spike_model = to_spike_driven(model, integer=integer)
    with SpikeValueRecorder(model) as multibit:
        reference = forward(model, inputs)
    with SpikeValueRecorder(spike_model) as binary:
        spiking = forward(spike_model, inputs)
    return dict(
        max_rel_err=max_relative_error(reference, spiking),
        spike_values=sorted(binary.values),
        multibit_values=sorted(multibit.values),
        num_neurons=len(binary.handles),
    )
