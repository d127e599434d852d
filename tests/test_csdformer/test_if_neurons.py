"""IF and delayed IF neurons (Appendix A Eq. 15, Algorithm 1, csdformer.md §7.3)."""
import pytest
import torch

from mmqsd.layers import DelayedIFNeuron, IFNeuron
from mmqsd.ops import is_binary, lsq_act_quant

from csdformer_helpers import uneven_split

T = 4
STEP = 0.2917  # quantiser step s; threshold lambda = T s


def dif_vs_quantiser(delay, n=50_000, seed=0):
    """Represented value (theta/T) * #spikes of a DIF neuron vs the quantiser, same input."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator=gen, dtype=torch.float64) * 2 * STEP * T
    currents = uneven_split(z, T, seed)
    theta = torch.tensor(T * STEP, dtype=torch.float64)
    spikes = DelayedIFNeuron(theta, delay)(currents)
    step = torch.tensor([STEP], dtype=torch.float64)
    return spikes, theta / T * spikes.sum(0), lsq_act_quant(z, step, T)


def test_dif_schedule_integrate_then_fire_T_frames():
    neuron = DelayedIFNeuron(torch.tensor(1.0), delay=2)
    neuron.reset()
    outputs = [neuron.step(torch.full((3, ), 0.9)) for _ in range(T)]
    outputs += [neuron.step(None) for _ in range(2)]
    assert outputs[0] is None and outputs[1] is None  # the first D steps only integrate
    frames = [o for o in outputs if o is not None]
    assert len(frames) == T
    # v(0) = 0.5, charge 0.9 per step: 4.1 in total -> floor(4.1 / 1) = 4 spikes
    assert torch.stack(frames).sum(0).tolist() == [4, 4, 4]


@pytest.mark.parametrize('delay', [T - 1, T, 2 * T])
def test_dif_with_delay_at_least_T_minus_1_equals_the_quantiser(delay):
    spikes, snn, qann = dif_vs_quantiser(delay)
    assert spikes.shape[0] == T and is_binary(spikes)
    assert torch.allclose(snn, qann, rtol=0, atol=1e-12)


def test_unevenness_error_shrinks_with_delay_and_vanishes_at_T_minus_1():
    errors = [(snn - qann).abs().mean().item() for _, snn, qann in
              (dif_vs_quantiser(d) for d in range(T))]
    assert errors[0] > 0.01  # plain IF: spike count depends on the input's order in time
    assert errors[0] > errors[1] > errors[2] > errors[3]
    assert errors[3] < 1e-12


def test_if_neuron_is_the_dif_neuron_without_delay():
    currents = uneven_split(torch.randn(1000, dtype=torch.float64), T)
    theta = torch.tensor(0.8, dtype=torch.float64)
    assert IFNeuron(theta).delay == 0
    assert torch.equal(IFNeuron(theta)(currents), DelayedIFNeuron(theta, 0)(currents))


def test_threshold_scale_is_a_threshold_absorbing_a_constant():
    """Integrating c * I against theta == integrating I against theta / c (Sec. 3.3.1)."""
    currents = uneven_split(torch.rand(1000, dtype=torch.float64), T)
    scaled = DelayedIFNeuron(torch.tensor(0.25, dtype=torch.float64), T - 1)(currents * 8)
    absorbed = DelayedIFNeuron(torch.tensor(1 / 32, dtype=torch.float64), T - 1)
    assert torch.equal(absorbed(currents, threshold_scale=1.0), scaled)
    assert torch.equal(DelayedIFNeuron(torch.tensor(1.0, dtype=torch.float64), T - 1)(
        currents, threshold_scale=1 / 32), scaled)


@pytest.mark.parametrize('delay', [-1, 1.5, True])
def test_bad_delay_explains_the_fix(delay):
    with pytest.raises(ValueError, match='non-negative int'):
        DelayedIFNeuron(torch.tensor(1.0), delay)
