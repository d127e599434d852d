"""Temporal decomposition of max-pooling and of matrix products (Sec. 3.3.2, Appendix B)."""
import pytest
import torch
import torch.nn.functional as F

from mmqsd.layers import TDECMatMul, TDECMaxPool2d
from mmqsd.ops import is_binary, tdec

T = 4


def random_spikes(*shape, p=0.5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=gen) < p).double()


def maxpool(x):
    return F.max_pool2d(x, 3, 2, 1)


@pytest.mark.parametrize('fn', [maxpool, torch.relu, lambda x: x.clamp(max=2.0)])
def test_generic_tdec_sums_back_exactly(fn):
    x = torch.randn(T, 2, 3, 8, 8, dtype=torch.float64)
    parts = tdec(fn, x)
    assert parts.shape[0] == T
    assert torch.allclose(parts.sum(0), fn(x.sum(0)), rtol=0, atol=1e-12)


def test_maxpool_outputs_binary_spikes_summing_to_the_max_of_counts():
    spikes = random_spikes(T, 2, 3, 9, 9)
    out = TDECMaxPool2d()(spikes)
    assert out.shape == (T, 2, 3, 5, 5)
    assert is_binary(out)
    assert torch.equal(out.sum(0), maxpool(spikes.sum(0)))
    assert torch.equal(out, tdec(maxpool, spikes))  # the unit is Eq. 21 for max-pooling


def test_pooling_each_step_alone_would_over_count():
    spikes = random_spikes(T, 2, 3, 9, 9)
    per_step = torch.stack([maxpool(s) for s in spikes]).sum(0)
    assert (per_step > maxpool(spikes.sum(0))).any()


def test_matmul_sums_back_exactly_with_a_binary_operand_per_product():
    a, b = random_spikes(T, 2, 3, 6, 5, seed=1), random_spikes(T, 2, 3, 5, 7, seed=2)
    gamma = TDECMatMul()(a, b)
    assert torch.equal(gamma.sum(0), a.sum(0) @ b.sum(0))
    assert torch.equal(gamma, tdec(torch.matmul, a, b))  # Eq. 23 == Eq. 21 for A @ B
    assert (gamma == gamma.round()).all() and (gamma >= 0).all()  # integer currents


def test_matmul_currents_are_back_loaded():
    ones = torch.ones(T, 1, 3, 3, dtype=torch.float64)
    gamma = TDECMatMul()(ones, ones)
    # P(t) = t  =>  Gamma(t) = k (t^2 - (t-1)^2) = 3 (2t - 1): 3, 9, 15, 21
    assert gamma[:, 0, 0, 0].tolist() == [3, 9, 15, 21]


def test_units_reset_between_inputs():
    pool, vmm = TDECMaxPool2d(), TDECMatMul()
    spikes = random_spikes(T, 1, 2, 6, 6)
    a, b = random_spikes(T, 4, 3, seed=3), random_spikes(T, 3, 4, seed=4)
    assert torch.equal(pool(spikes), pool(spikes))
    assert torch.equal(vmm(a, b), vmm(a, b))
    assert pool.count is None and vmm.count_a is None  # no state kept between runs
