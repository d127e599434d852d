import pytest
import torch

from mmqsd.analysis import FiringRateMonitor
from mmqsd.deploy import to_spike_driven
from mmqsd.layers import IELIF, LIF


class TwoNeurons(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stages = torch.nn.ModuleList([IELIF(levels=4), LIF()])

    def forward(self, x):
        first = self.stages[0](x)
        dense = first.to_dense() if hasattr(first, 'to_dense') else first
        return self.stages[1](dense)


def test_known_rates_multibit_and_binary_and_spike_driven():
    # IE-LIF counts: round(clip(v, 0, 4)) -> [0, 1, 2, 4] -> mean 1.75 spikes / neuron / step
    v = torch.tensor([-1.0, 1.2, 2.4, 9.0]).view(1, 1, 4)
    model = TwoNeurons()
    for candidate in (model, to_spike_driven(model)):
        with FiringRateMonitor(candidate) as monitor:
            candidate(v)
        stats = monitor.layer_stats()
        assert stats['stages.0']['spikes_per_step'] == pytest.approx(1.75)
        assert stats['stages.0']['rate'] == pytest.approx(1.75 / 4)  # per virtual step
        # LIF on the multi-bit values [0, .25, .5, 1]: only 1.0 reaches the threshold
        assert stats['stages.1']['spikes_per_step'] == pytest.approx(0.25)
        assert stats['stages.1']['rate'] == pytest.approx(0.25)


def test_accumulates_and_groups_weighted_by_neurons():
    model = TwoNeurons()
    monitor = FiringRateMonitor(model).attach()
    model(torch.full((1, 1, 2), 4.0))  # 4 spikes each
    model(torch.zeros(1, 1, 6))  # silent, three times as many neurons
    monitor.detach()
    assert monitor.layer_stats()['stages.0']['spikes_per_step'] == pytest.approx(8 / 8)
    groups = monitor.group_stats()
    assert set(groups) == {'stages.0', 'stages.1'}
    monitor.reset()
    assert monitor.layer_stats() == {}
