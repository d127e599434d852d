"""Spiking-neuron modules: :class:`IELIF` (QSD Eq. 9-10) and binary :class:`LIF` (Eq. 1-3).

Inputs are multi-step tensors ``(T, B, ...)``.  Both neurons start from a
zero state on every forward (no user-side ``reset_net``).  Setting
``spike_driven = True`` (done by :func:`mmqsd.deploy.to_spike_driven`) makes a
neuron emit a :class:`~mmqsd.layers.SpikeTrain` of binary spikes instead of
multi-bit values; ``integer_counts = True`` (exact integer inference, see
:func:`mmqsd.deploy.to_integer_inference`) makes it emit its uint8 spike counts
as a :class:`~mmqsd.layers.ScaledInteger`; both flags together give uint8
binary spike trains for the int8 synapses.  In that form a neuron handed
counts already (its synapse fused it, see ``QuantConv2d.fused_neuron``)
passes them on.
"""
from typing import Optional

import torch
from torch import nn

from ..ops import (counts_from_potential, counts_to_spike_bytes, counts_to_spike_train, ie_lif,
                   ie_lif_counts, lif_multistep)
from .spike_train import ScaledInteger, SpikeTrain


class IELIF(nn.Module):
    """Information-enhanced LIF (Eq. 9): ``a = round(clip(gain*v, 0, levels)) / norm``.

    Training emits multi-bit spikes ``k / norm`` (k = 0..levels) with a
    straight-through gradient; the spike-driven form emits ``levels`` binary
    spikes over virtual time steps, ``sum_t s[t] = k`` (Eq. 10).

    Args:
        levels: the paper's ``b``, the largest integer emitted (default 4).
        gain: membrane scaling before clipping (paper: 1; authors' code: ``levels``).
        norm: output divisor (default ``levels``; authors' attention neuron: ``levels/2``).
    """

    def __init__(self, levels: int = 4, gain: float = 1.0, norm: Optional[float] = None):
        super().__init__()
        ie_lif(torch.zeros(1), levels, gain, norm)  # validates levels early
        self.levels = levels
        self.gain = float(gain)
        self.norm = float(levels if norm is None else norm)
        self.spike_driven = False
        self.integer_counts = False

    @property
    def int8_counts(self) -> bool:
        """Whether the counts fit the int8 kernels (0..127); else integer-valued floats."""
        return self.levels <= 127

    @property
    def firing_range(self):
        """Membrane interval ``(lowest potential that fires, saturation)``."""
        return 0.5 / self.gain, self.levels / self.gain

    def spike_counts(self, output) -> torch.Tensor:
        """Integer spikes per neuron and time step behind an output of this neuron."""
        if isinstance(output, SpikeTrain):
            return output.spikes.sum(0)
        if isinstance(output, ScaledInteger):
            return output.values.float()
        return torch.round(output * self.norm)

    def forward(self, v: torch.Tensor):
        if self.spike_driven and self.integer_counts:  # binary uint8 spikes for int8 synapses
            counts = self._integer_counts(v).values
            return SpikeTrain(counts_to_spike_bytes(counts, self.levels), 1.0 / self.norm)
        if self.spike_driven:
            counts = ie_lif_counts(v, self.levels, self.gain)
            return SpikeTrain(counts_to_spike_train(counts, self.levels), 1.0 / self.norm)
        if self.integer_counts:
            return self._integer_counts(v)
        return ie_lif(v, self.levels, self.gain, self.norm)

    def _integer_counts(self, v) -> ScaledInteger:
        if isinstance(v, ScaledInteger):  # fired inside the synapse that feeds this neuron
            return v
        if not self.int8_counts:  # integer-valued float path
            return ScaledInteger(ie_lif_counts(v, self.levels, self.gain).to(torch.int32),
                                 1.0 / self.norm)
        u = v.detach() * self.gain if self.gain != 1.0 else v.detach()
        return ScaledInteger(counts_from_potential(u, self.levels), 1.0 / self.norm)

    def extra_repr(self):
        return f'levels={self.levels}, gain={self.gain:g}, norm={self.norm:g}'


class LIF(nn.Module):
    """Binary multi-step LIF neuron (Eq. 1-3, soft reset, rectangle surrogate Eq. 16).

    The QSD paper's baseline neuron.  Spikes are already binary, so the
    spike-driven form is a one-step :class:`SpikeTrain`.  ``reset='hard'``
    (with ``tau=0.5`` and twice SpikingJelly's threshold) reproduces SDT-V2's
    neuron, see :func:`mmqsd.ops.lif_multistep`.
    """

    levels = 1

    def __init__(self, tau: float = 0.5, threshold: float = 1.0, surrogate_width: float = 1.0,
                 reset: str = 'soft'):
        super().__init__()
        if reset not in ('soft', 'hard'):
            raise ValueError(f"LIF reset must be 'soft' (QSD Eq. 3) or 'hard' (SDT-V2), "
                             f'got {reset!r}')
        self.reset = reset
        if threshold <= 0 or surrogate_width <= 0:
            raise ValueError('LIF threshold and surrogate_width must be positive')
        self.tau = float(tau)
        self.threshold = float(threshold)
        self.surrogate_width = float(surrogate_width)
        self.spike_driven = False
        self.integer_counts = False

    @property
    def firing_range(self):
        return self.threshold, self.threshold

    def spike_counts(self, output) -> torch.Tensor:
        """Spikes (0/1) per neuron and time step behind an output of this neuron."""
        if isinstance(output, SpikeTrain):
            return output.spikes.sum(0)
        return output.values.float() if isinstance(output, ScaledInteger) else output

    def forward(self, x: torch.Tensor):
        spikes = lif_multistep(x, self.tau, self.threshold, self.surrogate_width, self.reset)
        if self.integer_counts:
            spikes = spikes.to(torch.uint8)
        if self.spike_driven:
            return SpikeTrain(spikes.unsqueeze(0), 1.0)
        return ScaledInteger(spikes, 1.0) if self.integer_counts else spikes

    def extra_repr(self):
        return f'tau={self.tau:g}, threshold={self.threshold:g}, reset={self.reset}'


#: Real-valued stand-ins for a spiking neuron: ``relu`` makes the ANN counterpart of
#: a QSD model (the FGD teacher, QSD Sec. 4.3 / Fig. 1c), ``identity`` a read-out
#: without a neuron (Spikformer's classification head).  They have no spike-driven form.
REAL_ACTIVATIONS = {'relu': nn.ReLU, 'identity': nn.Identity}
NEURONS = {'ie_lif': IELIF, 'lif': LIF, **REAL_ACTIVATIONS}


def build_neuron(cfg: dict) -> nn.Module:
    """Build a neuron from ``dict(type='ie_lif'|'lif'|'relu'|'identity', **kwargs)``."""
    cfg = dict(cfg)
    kind = cfg.pop('type')
    if kind not in NEURONS:
        raise ValueError(f'unknown neuron type {kind!r}; choose one of {sorted(NEURONS)}')
    return NEURONS[kind](**cfg)
