"""Spike trains and their consumers: accumulation is exact, products use all step pairs."""
import torch

from mmqsd.deploy import SpikeTrain, spike_matmul, synaptic_forward
from mmqsd.ops import counts_to_spike_train


def random_train(shape, levels=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    counts = torch.randint(0, levels + 1, shape, generator=gen).double()
    return SpikeTrain(counts_to_spike_train(counts, levels), 1.0 / levels), counts / levels


def test_synaptic_forward_accumulates_binary_steps_and_adds_bias_once():
    train, dense = random_train((2, 3, 5, 5))
    weight = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    bias = torch.randn(4, dtype=torch.float64)
    op = lambda x, b: torch.nn.functional.conv2d(x, weight, b, padding=1)  # noqa: E731
    expected = torch.nn.functional.conv2d(dense, weight, bias, padding=1)
    assert torch.allclose(synaptic_forward(train, op, bias, 3), expected, atol=1e-12)
    assert torch.allclose(synaptic_forward(dense, op, bias, 3), expected, atol=1e-12)


def test_spike_matmul_all_pairs_equals_dense_product():
    a, a_dense = random_train((2, 6, 3), seed=1)
    b, b_dense = random_train((2, 3, 5), seed=2)
    expected = a_dense @ b_dense
    assert torch.allclose(spike_matmul(a, b), expected, atol=1e-12)
    # the per-step shortcut sum_t a_t b_t is NOT the product of the sums
    per_step = (a.spikes @ b.spikes).sum(0) * a.scale * b.scale
    assert not torch.allclose(per_step, expected)
    # spike train times a dense (count) matrix
    assert torch.allclose(spike_matmul(a, b_dense), expected, atol=1e-12)
    assert torch.allclose(spike_matmul(a_dense, b), expected, atol=1e-12)


def test_map_and_to_dense():
    train, dense = random_train((2, 3, 4))
    moved = train.map(lambda t: t.transpose(-1, -2))
    assert moved.value_shape == (2, 4, 3) and moved.shape == (4, 2, 4, 3)
    assert torch.equal(moved.to_dense(), dense.transpose(-1, -2))
