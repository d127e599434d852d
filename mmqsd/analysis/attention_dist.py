"""Q-SDSA membrane and q/k/v spike distributions with and without MPRF (QSD Fig. 2b / 3b).

For every attention layer the q/k/v membrane potential is captured before
the MPRF (the BN output) and after it; the spikes "without MPRF" are what the
same IE-LIF emits from the un-rectified potential.  Spike-level entropy is
reported two ways:

* ``entropy``: empirical, ``-sum_k p_k log p_k`` over the emitted levels k = 0..b;
* ``entropy_gaussian``: Eq. 11 with the membrane modelled as ``N(mu, sigma)`` and
  ``p_k`` the normal's mass that the neuron maps to level k.
"""
import math
from collections import OrderedDict, defaultdict

import torch

from ..layers import QKVBranch


def level_entropy(spikes: torch.Tensor) -> float:
    """Empirical entropy (nats) of the distinct values in ``spikes``."""
    _, counts = torch.unique(spikes, return_counts=True)
    p = counts.double() / counts.sum()
    return float(-(p * p.log()).sum())


def gaussian_level_entropy(mu: float, sigma: float, neuron) -> float:
    """Eq. 11: entropy of IE-LIF levels for a ``N(mu, sigma)`` membrane potential."""
    sigma = max(sigma, 1e-12)
    cdf = lambda v: 0.5 * (1 + math.erf((v - mu) / (sigma * math.sqrt(2))))  # noqa: E731
    # level k collects potentials in [(k - 0.5)/gain, (k + 0.5)/gain), clipped at 0 and levels
    edges = [-math.inf] + [(k + 0.5) / neuron.gain for k in range(neuron.levels)] + [math.inf]
    probs = [cdf(hi) - cdf(lo) for lo, hi in zip(edges[:-1], edges[1:])]
    return -sum(p * math.log(p) for p in probs if p > 0)


class AttentionRecorder:
    """Capture q/k/v membrane potentials (pre- and post-MPRF) of every ``QKVBranch``."""

    def __init__(self, model, max_values: int = 200_000):
        self.branches = OrderedDict((n, m) for n, m in model.named_modules()
                                    if isinstance(m, QKVBranch))
        self.max_values = max_values
        self.records = defaultdict(lambda: defaultdict(list))
        self._handles = []

    def _hook(self, name, key):
        def hook(module, inputs, output):
            self.records[name][key].append(output.detach().flatten()[:self.max_values].float())
        return hook

    def __enter__(self):
        for name, branch in self.branches.items():
            self._handles.append(branch.bn.register_forward_hook(self._hook(name, 'pre')))
            if branch.mprf is not None:
                self._handles.append(branch.mprf.register_forward_hook(self._hook(name, 'post')))
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()

    def summary(self) -> 'OrderedDict[str, dict]':
        """Per branch: membrane mean/std and spike entropies without / with MPRF."""
        result = OrderedDict()
        for name, branch in self.branches.items():
            row = {}
            for key, label in (('pre', 'without_mprf'), ('post', 'with_mprf')):
                if key not in self.records[name]:
                    continue
                v = torch.cat(self.records[name][key])
                spikes = branch.neuron(v)
                mu, sigma = float(v.mean()), float(v.std())
                row[label] = dict(
                    membrane_mean=mu, membrane_std=sigma, entropy=level_entropy(spikes),
                    entropy_gaussian=gaussian_level_entropy(mu, sigma, branch.neuron),
                    spike_levels=sorted(float(x) for x in spikes.unique()))
                row[f'{label}_values'] = (v, spikes)
            result[name] = row
        return result
