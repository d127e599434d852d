"""How much int8 work a deployed model does per forward (for throughput figures).

The integer form's synapses (:class:`~mmqsd.deploy.Int8Synapse`) multiply uint8
spike counts or binary spikes by int8 weights with int32 sums (QSD Appendix D);
synapses fed real values (the stem, RepConv's depthwise and last 1x1 convs) run in
float32.  :func:`count_int8_macs` runs one forward with hooks and returns both
MAC counts, so a benchmark can state the int8 operations per second it achieved
(``2 * int8 MACs / time``, one multiply and one add per MAC, in TOP/s) and the
float32 share that the time also pays for.
"""
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .modules import Int8Synapse
from .spike_train import SpikeCounts, SpikeTrain


@dataclass
class SynapseWork:
    """MACs of one forward: ``int8_macs`` on the int8 kernels, ``float_macs`` in float32."""
    int8_macs: int = 0
    float_macs: int = 0

    @property
    def int8_share(self) -> float:
        total = self.int8_macs + self.float_macs
        return self.int8_macs / total if total else 0.0


def _output_values(output) -> torch.Tensor:
    return output.values if isinstance(output, SpikeCounts) else output


def synapse_macs(module: Int8Synapse, inputs: tuple, output) -> int:
    """MACs one call of ``module`` executed: outputs x inputs per output (x the number of
    virtual time steps a :class:`SpikeTrain` input carries as extra channels)."""
    per_output = module.weight[0].numel()
    if isinstance(inputs[0], SpikeTrain):
        per_output *= inputs[0].num_steps
    return _output_values(output).numel() * per_output


def _is_int8_input(x) -> bool:
    values = x.values if isinstance(x, SpikeCounts) else \
        x.spikes if isinstance(x, SpikeTrain) else None
    return values is not None and values.dtype == torch.uint8


@torch.no_grad()
def count_int8_macs(model: nn.Module, forward: Callable[[], object]) -> SynapseWork:
    """Run ``forward()`` (one forward of ``model``, a deployed integer form) and count
    the MACs of its :class:`Int8Synapse` modules by where they ran.

    Raises:
        ValueError: ``model`` has no ``Int8Synapse`` (not an integer form; convert
            it with :func:`mmqsd.deploy.to_integer_inference` first).
    """
    synapses = [m for m in model.modules() if isinstance(m, Int8Synapse)]
    if not synapses:
        raise ValueError('the model has no Int8Synapse: count int8 work on an integer form '
                         '(mmqsd.deploy.to_integer_inference or convert(model, "integer"))')
    work = SynapseWork()

    def hook(module, inputs, output):
        macs = synapse_macs(module, inputs, output)
        if _is_int8_input(inputs[0]):
            work.int8_macs += macs
        else:
            work.float_macs += macs

    handles = [m.register_forward_hook(hook) for m in synapses]
    try:
        forward()
    finally:
        for handle in handles:
            handle.remove()
    return work
