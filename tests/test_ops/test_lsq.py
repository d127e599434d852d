"""LSQ weight quantisation (QSD Eq. 4-5)."""
import math

import pytest
import torch

from mmqsd.ops import (check_weight_bits, lsq_fake_quant, lsq_init_step, lsq_integer_weights,
                       signed_range)


@pytest.mark.parametrize('bits,expected', [(2, (-2, 1)), (3, (-4, 3)), (4, (-8, 7)),
                                           (8, (-128, 127))])
def test_signed_range(bits, expected):
    assert signed_range(bits) == expected


@pytest.mark.parametrize('bad', [1, 9, 0, 4.0, '4', True])
def test_unsupported_bits_raise(bad):
    with pytest.raises(ValueError, match='weight_bits'):
        check_weight_bits(bad)


def test_known_values_4bit():
    w = torch.tensor([[0.26, -0.74, 3.0, -5.0, 0.05]])
    step = torch.tensor([0.5])
    # w/s = .52 -1.48 6 -10 .1 -> round/clip to [-8, 7] -> 1 -1 6 -8 0
    assert torch.equal(lsq_integer_weights(w, step, 4), torch.tensor([[1, -1, 6, -8, 0]],
                                                                     dtype=torch.int8))
    expected = torch.tensor([[0.5, -0.5, 3.0, -4.0, 0.0]])
    assert torch.allclose(lsq_fake_quant(w, step, 4), expected)


def test_per_channel_steps_and_levels():
    torch.manual_seed(0)
    w = torch.randn(6, 3, 3, 3)
    for bits in (2, 3, 4, 8):
        step = lsq_init_step(w, bits)
        assert step.shape == (6, ) and (step > 0).all()
        wq = lsq_fake_quant(w, step, bits)
        q = wq / step.view(-1, 1, 1, 1)
        qn, qp = signed_range(bits)
        assert torch.allclose(q, q.round(), atol=1e-5)
        assert q.min() >= qn and q.max() <= qp


def test_init_step_formula():
    w = torch.tensor([[1.0, -3.0], [0.5, 0.5]])
    # 2 * mean|w_c| / sqrt(Qp), Qp = 7 for 4 bits
    assert torch.allclose(lsq_init_step(w, 4), torch.tensor([4.0, 1.0]) / math.sqrt(7))


def test_gradients_ste_and_step():
    w = torch.tensor([[0.3, -0.9, 10.0, -10.0]], requires_grad=True)
    step = torch.tensor([0.4], requires_grad=True)
    lsq_fake_quant(w, step, 4).sum().backward()
    # weight: 1 inside the clip range, 0 outside
    assert torch.equal(w.grad, torch.tensor([[1.0, 1.0, 0.0, 0.0]]))
    # step: sum of (round(w/s) - w/s) inside, Qp / Qn outside, times g = 1/sqrt(numel*Qp)
    ratio = torch.tensor([0.3, -0.9]) / 0.4
    expected = (ratio.round() - ratio).sum() + 7 + (-8)
    g = 1 / math.sqrt(4 * 7)
    assert torch.allclose(step.grad, (expected * g).reshape(1), atol=1e-6)


def test_fused_lsq_equals_the_composed_ste_expression():
    """The one-op autograd function (memory-lean) = Eq. 4 written with STE building blocks."""
    from mmqsd.ops import round_ste, scale_grad
    gen = torch.Generator().manual_seed(0)
    w = (torch.randn(6, 3, 3, 3, generator=gen, dtype=torch.float64) * 2).requires_grad_()
    step = (torch.rand(6, generator=gen, dtype=torch.float64) * 0.3 + 0.05).requires_grad_()
    upstream = torch.randn(6, 3, 3, 3, generator=gen, dtype=torch.float64)
    out = lsq_fake_quant(w, step, 3)
    grads = torch.autograd.grad((out * upstream).sum(), (w, step))
    qn, qp = -4, 3
    s = scale_grad(step, 1 / math.sqrt(w.numel() * qp)).view(-1, 1, 1, 1)
    reference = round_ste(torch.clamp(w / s, qn, qp)) * s
    expected = torch.autograd.grad((reference * upstream).sum(), (w, step))
    assert torch.equal(out, reference)
    for got, want in zip(grads, expected):
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)
    ratio = (w / step.view(-1, 1, 1, 1)).detach()
    assert ((ratio < qn) | (ratio > qp)).any(), 'the test must clip some weights'
