import pytest
import torch
from torch import nn

from mmqsd.deploy import SpikeTrain, to_spike_driven
from mmqsd.layers import IELIF, LIF, SpikingNeuron, build_neuron


def test_ielif_module_multibit_and_spike_driven():
    neuron = IELIF(levels=4)
    v = torch.linspace(-1, 5, 50).view(2, 25)
    multi = neuron(v)
    train = to_spike_driven(nn.Sequential(neuron))(v)
    assert isinstance(train, SpikeTrain) and train.num_steps == 4
    assert set(train.spikes.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(train.to_dense(), multi)
    assert neuron.firing_range == (0.5, 4.0)


def test_lif_module_binary_and_one_step_train():
    neuron = LIF()
    x = torch.rand(4, 3, 8) * 2
    spikes = neuron(x)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    train = to_spike_driven(nn.Sequential(neuron))(x)
    assert train.num_steps == 1 and torch.equal(train.to_dense(), spikes)


def test_training_neurons_hold_no_deployment_state():
    """Neurons compute the neuron only: plain tensors out, no inference-form flags."""
    for neuron in (IELIF(levels=4), LIF()):
        assert isinstance(neuron, SpikingNeuron)
        assert not {'spike_driven', 'integer_counts', 'frozen'} & set(vars(neuron))
        out = neuron(torch.rand(2, 3, 4) * 3)
        assert type(out) is torch.Tensor


def test_build_neuron_errors():
    with pytest.raises(ValueError, match='unknown neuron type'):
        build_neuron(dict(type='izhikevich'))
    with pytest.raises(ValueError, match='levels'):
        IELIF(levels=-1)
    assert build_neuron(dict(type='ie_lif', levels=2)).levels == 2
