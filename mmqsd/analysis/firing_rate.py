"""Per-layer firing rates of spiking neurons (QSD Appendix E, the ``fr`` of Eq. 28-30).

A spiking layer is a :class:`~mmqsd.layers.SpikingNeuron`, training or deployed
form: ``levels`` (virtual steps per time step: IE-LIF's b, 1 for binary neurons)
and ``spike_counts(output)`` (integer spikes per neuron and time step).  A
multi-bit IE-LIF value ``k/b`` counts ``k``
spikes over ``b`` virtual steps, in training (multi-bit) and spike-driven
(binary) form alike.  Reported per layer:

* ``spikes_per_step``: mean spikes per neuron per (real) time step, ``mean(k)``;
  this is the ``fr`` that multiplies ``T * FLOPs`` in Eq. 28;
* ``rate``: spikes per neuron per virtual step, ``mean(k) / b``, in [0, 1].
"""
import re
from collections import OrderedDict, defaultdict

import torch
from torch import nn

from ..layers import SpikingNeuron

DEFAULT_GROUPS = r'^(.*?stages\.\d+|neck|decode_head|auxiliary_head|head|rpn_head|roi_head)'


def is_spiking_layer(module: nn.Module) -> bool:
    """Whether ``module`` is a spiking neuron (training or deployed form)."""
    return isinstance(module, SpikingNeuron)


class FiringRateMonitor:
    """Accumulate spike statistics of every spiking layer while active.

    Use as a context manager (``with FiringRateMonitor(model) as m: model(x)``)
    or call :meth:`attach` / :meth:`detach`.  Statistics accumulate over all
    forwards until :meth:`reset`.
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self.layers = OrderedDict((n, m) for n, m in model.named_modules() if is_spiking_layer(m))
        self._handles = []
        self.reset()

    def reset(self):
        self.spikes = defaultdict(float)
        self.neuron_steps = defaultdict(int)
        self.last_spikes_per_step = {}

    def _hook(self, name):
        def hook(module, inputs, output):
            counts = module.spike_counts(output).detach()
            total = float(counts.sum())
            self.spikes[name] += total
            self.neuron_steps[name] += counts.numel()
            self.last_spikes_per_step[name] = total / max(counts.numel(), 1)
        return hook

    def attach(self):
        if not self._handles:
            self._handles = [m.register_forward_hook(self._hook(n)) for n, m in self.layers.items()]
        return self

    def detach(self):
        for handle in self._handles:
            handle.remove()
        self._handles = []

    __enter__ = attach

    def __exit__(self, *exc):
        self.detach()

    def layer_stats(self) -> 'OrderedDict[str, dict]':
        """Per layer: ``spikes_per_step``, ``rate``, ``levels``, ``neuron_steps``."""
        stats = OrderedDict()
        for name, module in self.layers.items():
            steps = self.neuron_steps[name]
            if not steps:
                continue
            per_step = self.spikes[name] / steps
            stats[name] = dict(spikes_per_step=per_step, rate=per_step / module.levels,
                               levels=module.levels, neuron_steps=steps)
        return stats

    def group_stats(self, pattern: str = DEFAULT_GROUPS) -> 'OrderedDict[str, dict]':
        """Neuron-weighted averages over layer groups (default: backbone stages, neck, heads)."""
        sums = OrderedDict()
        for name, row in self.layer_stats().items():
            match = re.match(pattern, name)
            group = match.group(1) if match else name.split('.')[0] or 'model'
            spikes, steps, virtual = sums.get(group, (0.0, 0, 0))
            sums[group] = (spikes + row['spikes_per_step'] * row['neuron_steps'],
                           steps + row['neuron_steps'], virtual + row['neuron_steps'] * row['levels'])
        return OrderedDict((g, dict(spikes_per_step=s / n, rate=s / v))
                           for g, (s, n, v) in sums.items())


@torch.no_grad()
def measure_firing_rates(model: nn.Module, inputs, forward=None) -> 'OrderedDict[str, dict]':
    """Run ``forward(model, batch)`` on one batch (a tensor) or on every batch of an iterable
    (e.g. :func:`mmqsd.analysis.inputs.analysis_batches`, which shows progress); return
    :meth:`FiringRateMonitor.layer_stats` over all of them (each neuron step weighs the same).
    """
    forward = forward or (lambda m, x: m(x))
    batches = [inputs] if isinstance(inputs, torch.Tensor) else inputs
    with FiringRateMonitor(model) as monitor:
        for batch in batches:
            forward(model, batch)
    return monitor.layer_stats()
