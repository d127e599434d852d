"""MPRF (Eq. 12) and its fusion into the preceding quantised conv (Eq. 24-26)."""
import torch

from mmqsd.deploy import fold_norms_into_conv
from mmqsd.layers import MPRF, QuantConv2d, SeqBatchNorm2d


def test_mprf_training_standardises_then_rectifies():
    mprf = MPRF(3, firing_range_top=4.0)
    assert torch.allclose(mprf.gamma, torch.ones(3)) and torch.allclose(mprf.alpha, 2 * torch.ones(3))
    with torch.no_grad():
        mprf.gamma.copy_(torch.tensor([0.5, 1.0, 2.0]))
        mprf.alpha.copy_(torch.tensor([1.0, 2.0, 3.0]))
    p = torch.randn(4, 8, 3, 6, 6) * 5 - 3  # (T, B, C, H, W), mu = -3, sigma = 5
    out = mprf(p).transpose(0, 2).flatten(1)
    # (p - mu(p)) / sigma(p) * gamma + alpha, per channel
    assert torch.allclose(out.mean(1), mprf.alpha.detach(), atol=1e-4)
    assert torch.allclose(out.std(1, unbiased=False), mprf.gamma.detach(), atol=1e-3)
    assert (mprf.running_mean < 0).all()


def test_mprf_eval_uses_running_statistics():
    mprf = MPRF(2, firing_range_top=1.0).eval()
    with torch.no_grad():
        mprf.running_mean.copy_(torch.tensor([1.0, -1.0]))
        mprf.running_var.copy_(torch.tensor([4.0, 0.25]))
    p = torch.tensor([3.0, 0.0]).view(1, 1, 2, 1, 1)
    expected = torch.tensor([(3 - 1) / 2 * 0.25 + 0.5, (0 + 1) / 0.5 * 0.25 + 0.5])
    assert torch.allclose(mprf(p).flatten(), expected, atol=1e-4)


def test_bn_and_mprf_fuse_into_quantised_conv():
    torch.manual_seed(0)
    conv = QuantConv2d(3, 4, 3, padding=1, weight_bits=4).double()
    bn, mprf = SeqBatchNorm2d(4).double(), MPRF(4).double()
    for norm in (bn, mprf):
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
        norm.weight.data.uniform_(-1, 1)
        norm.bias.data.uniform_(-1, 1)
    conv.eval(), bn.eval(), mprf.eval()
    x = (torch.rand(2, 2, 3, 5, 5) > 0.5).double()
    expected = mprf(bn(conv(x)))
    ints = conv.integer_weight()
    conv = fold_norms_into_conv(conv, [bn, mprf])  # the deployed synapse
    assert torch.allclose(conv(x), expected, atol=1e-12)
    assert torch.equal(conv.integer_weight(), ints)  # still b-bit integers x per-channel scale
