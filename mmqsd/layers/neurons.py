"""Spiking-neuron modules: :class:`IELIF` (QSD Eq. 9-10) and binary :class:`LIF` (Eq. 1-3).

Inputs are multi-step tensors ``(T, B, ...)``.  Both neurons start from a
zero state on every forward (no user-side ``reset_net``).  These are the
training forms and compute the neuron only; the inference forms (binary
spike trains over virtual time steps, integer counts) are modules of their
own that :mod:`mmqsd.deploy` substitutes in.  Every spiking neuron, training
or deployed, derives from :class:`SpikingNeuron`.
"""
from typing import Optional

import torch
from torch import nn

from ..ops import ie_lif, lif_multistep
from ..ops.spike_synapse import mark_spikes


class SpikingNeuron(nn.Module):
    """Base of every spiking neuron (training and deployed forms).

    Subclasses set ``levels`` (spikes a neuron can emit per time step: the
    paper's ``b`` for IE-LIF, 1 for binary LIF) and implement
    :meth:`spike_counts` and :meth:`to_value`, so that analysis (firing rates,
    energy), distillation hooks and deployment find neurons by this one class.
    """

    levels: int

    def spike_counts(self, output) -> torch.Tensor:
        """Integer spikes per neuron and time step behind ``output`` of this neuron."""
        raise NotImplementedError

    def to_value(self, output) -> torch.Tensor:
        """The multi-bit value ``output`` stands for (the training form's output)."""
        return output


class IELIF(SpikingNeuron):
    """Information-enhanced LIF (Eq. 9): ``a = round(clip(gain*v, 0, levels)) / norm``.

    Emits multi-bit spikes ``k / norm`` (k = 0..levels) with a straight-through
    gradient.  Its spike-driven form (``levels`` binary spikes over virtual
    time steps with ``sum_t s[t] = k``, Eq. 10) is
    :class:`mmqsd.deploy.IELIFSpikes`.

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

    @property
    def firing_range(self):
        """Membrane interval ``(lowest potential that fires, saturation)``."""
        return 0.5 / self.gain, self.levels / self.gain

    def spike_counts(self, output: torch.Tensor) -> torch.Tensor:
        return torch.round(output * self.norm)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        spikes = ie_lif(v, self.levels, self.gain, self.norm)
        return mark_spikes(spikes, self.norm, self.levels)

    def extra_repr(self):
        return f'levels={self.levels}, gain={self.gain:g}, norm={self.norm:g}'


class LIF(SpikingNeuron):
    """Binary multi-step LIF neuron (Eq. 1-3, soft reset, rectangle surrogate Eq. 16).

    The QSD paper's baseline neuron.  ``reset='hard'`` (with ``tau=0.5`` and
    twice SpikingJelly's threshold) reproduces SDT-V2's neuron, see
    :func:`mmqsd.ops.lif_multistep`.
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

    @property
    def firing_range(self):
        return self.threshold, self.threshold

    def spike_counts(self, output: torch.Tensor) -> torch.Tensor:
        return output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mark_spikes(
            lif_multistep(x, self.tau, self.threshold, self.surrogate_width, self.reset), 1.0, 1)

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
