"""IE-LIF (Eq. 9-10) and binary LIF (Eq. 1-3, 16)."""
import pytest
import torch

from mmqsd.ops import counts_to_spike_train, heaviside_rect, ie_lif, ie_lif_counts, lif_multistep


def test_ie_lif_known_values_paper_convention():
    v = torch.tensor([-1.0, 0.2, 0.5, 1.49, 1.5, 2.6, 3.9, 7.0])
    # round_half_up(clip(v, 0, 4)) / 4
    expected = torch.tensor([0, 0, 1, 1, 2, 3, 4, 4]) / 4
    assert torch.equal(ie_lif(v, levels=4), expected)


def test_ie_lif_authors_convention():
    # authors: floor(clip(4x, 0, 4) + 0.5) / 4, attention neuron divides by 2
    x = torch.tensor([0.1, 0.125, 0.3, 0.9, 2.0])
    assert torch.equal(ie_lif(x, 4, gain=4), torch.tensor([0, 1, 1, 4, 4]) / 4)
    assert torch.equal(ie_lif(x, 4, gain=4, norm=2), torch.tensor([0, 1, 1, 4, 4]) / 2)


@pytest.mark.parametrize('levels', [1, 2, 4, 8])
def test_ie_lif_values_are_multiples_of_one_over_levels(levels):
    a = ie_lif(torch.linspace(-2, levels + 2, 301), levels)
    assert set((a * levels).round().unique().tolist()) == set(range(levels + 1))


def test_ie_lif_straight_through_gradient():
    v = torch.tensor([-0.5, 0.0, 0.3, 2.2, 4.0, 5.0], requires_grad=True)
    ie_lif(v, 4).sum().backward()
    # d/dv round(clip(v,0,4))/4 = 1/4 strictly inside (0, 4)
    assert torch.equal(v.grad, torch.tensor([0, 0, 0.25, 0.25, 0, 0]))
    x = torch.tensor([0.5], requires_grad=True)
    ie_lif(x, 4, gain=4).sum().backward()
    assert torch.equal(x.grad, torch.tensor([1.0]))


def test_bad_levels():
    with pytest.raises(ValueError, match='levels'):
        ie_lif(torch.zeros(1), levels=0)


def test_binary_spikes_over_virtual_steps_sum_to_multibit():
    torch.manual_seed(0)
    v = torch.randn(3, 5, 7) * 3
    for levels in (1, 2, 4):
        counts = ie_lif_counts(v, levels)
        train = counts_to_spike_train(counts, levels)
        assert train.shape == (levels, 3, 5, 7)
        assert set(train.unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(train.sum(0) / levels, ie_lif(v, levels))


def test_heaviside_rect_surrogate():
    x = torch.tensor([-0.6, -0.4, 0.0, 0.4, 0.6], requires_grad=True)
    out = heaviside_rect(x, width=1.0)
    assert torch.equal(out, torch.tensor([0., 0., 1., 1., 1.]))
    out.sum().backward()
    assert torch.equal(x.grad, torch.tensor([0., 1., 1., 1., 0.]))
    y = torch.tensor([0.3], requires_grad=True)
    heaviside_rect(y, width=2.0).sum().backward()
    assert torch.equal(y.grad, torch.tensor([0.5]))


def test_lif_known_sequence_soft_reset():
    # tau = 0.5, threshold 1: v = h + x; s = [v >= 1]; h = 0.5 v - s
    x = torch.tensor([0.6, 0.6, 0.6, 2.0, 0.0]).view(5, 1)
    # t0: v=.6 s=0 h=.3 | t1: v=.9 s=0 h=.45 | t2: v=1.05 s=1 h=-.475
    # t3: v=1.525 s=1 h=-.2375 | t4: v=-.2375 s=0
    s = lif_multistep(x, tau=0.5, threshold=1.0)
    assert torch.equal(s.view(-1), torch.tensor([0., 0., 1., 1., 0.]))


def test_lif_state_resets_between_calls():
    x = torch.full((3, 2), 0.7)
    assert torch.equal(lif_multistep(x), lif_multistep(x))
