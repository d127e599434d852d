"""LSQ activation quantiser (CSDformer Sec. 3.2, Eqs. 8-9)."""
import math

import pytest
import torch
from torch import nn

from mmqsd.layers import LSQActQuant, build_activation
from mmqsd.ops import lsq_act_counts, lsq_act_quant


def qcfs(x, lam, levels):
    """Eq. 8 written out: lambda/L * clip(floor(x L / lambda + 1/2), 0, L)."""
    return lam / levels * torch.clamp(torch.floor(x * levels / lam + 0.5), 0, levels)


@pytest.mark.parametrize('levels', [1, 2, 4, 8])
def test_lsq_equals_qcfs_with_lambda_equal_L_times_step(levels):
    x = torch.randn(100_000, dtype=torch.float64) * 3
    step = torch.tensor([0.3719], dtype=torch.float64)
    out = lsq_act_quant(x, step, levels)
    assert torch.equal(out, qcfs(x, levels * step, levels))
    codes = lsq_act_counts(x, step, levels)
    assert torch.equal(out, codes * step)
    assert set(codes.unique().tolist()) == set(range(levels + 1))


def test_rounds_half_up_like_the_neuron():
    step = torch.tensor([0.5], dtype=torch.float64)
    ties = (torch.arange(4, dtype=torch.float64) + 0.5) * step  # codes 0.5, 1.5, 2.5, 3.5
    assert lsq_act_quant(ties, step, 4).div(step).tolist() == [1, 2, 3, 4]
    assert torch.round(ties / step).tolist() == [0, 2, 2, 4]  # half-to-even would differ


def test_lsq_gradients_with_gradient_scaling():
    levels, step_value = 4, 0.5
    x = torch.tensor([[-1.0, 0.2, 0.74, 1.9, 3.0]], dtype=torch.float64, requires_grad=True)
    step = torch.tensor([step_value], dtype=torch.float64, requires_grad=True)
    lsq_act_quant(x, step, levels).sum().backward()
    z = x.detach() / step_value
    inside = (z >= 0) & (z <= levels)
    assert torch.equal(x.grad, inside.to(x.dtype))  # straight-through inside [0, L s]
    per_element = torch.where(inside, torch.floor(z + 0.5) - z, (z > levels) * float(levels))
    g = 1 / math.sqrt(x.shape[1] * levels)  # 1 / sqrt(features per sample * L)
    assert step.grad.item() == pytest.approx(per_element.sum().item() * g)


def test_module_initialises_from_statistics_once():
    quant = LSQActQuant(levels=4)
    x = torch.randn(8, 16) * 2
    quant(x)
    assert bool(quant.initialized)
    assert quant.step.item() == pytest.approx(2 * x.abs().mean().item() / 2)  # 2E|x|/sqrt(4)
    assert quant.threshold.item() == pytest.approx(4 * quant.step.item())  # lambda = L s
    quant(x * 100)
    assert quant.step.item() == pytest.approx(x.abs().mean().item())  # not re-initialised

    restored = LSQActQuant(levels=4)
    restored.load_state_dict(quant.state_dict())
    assert bool(restored.initialized) and torch.equal(restored.step, quant.step)


def test_build_activation_switches_relu_and_quantiser():
    assert isinstance(build_activation(None), nn.ReLU)
    assert build_activation(3).levels == 3


@pytest.mark.parametrize('levels', [0, 2.0, True])
def test_bad_levels_explain_the_fix(levels):
    with pytest.raises(ValueError, match='quantisation level'):
        LSQActQuant(levels)
