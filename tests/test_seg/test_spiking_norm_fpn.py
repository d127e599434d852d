"""mmqsd.SpikingNormFPN: the spiking FPN with a BN after every conv (segmentation neck)."""
import pytest
import torch
from torch import nn

from mmqsd.deploy import fuse_norms, randomize_statistics, verify_spike_driven
from mmqsd.models.necks import SpikingConvNorm, SpikingFPN, SpikingNormFPN

IN_CHANNELS = [8, 16, 24, 32]


def maps(dtype=torch.float32):
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(2, c, s, s - 1, generator=gen, dtype=dtype) * 1.5 + 0.5
            for c, s in zip(IN_CHANNELS, (17, 9, 5, 3))]


def test_same_pyramid_as_spiking_fpn_with_a_bn_per_conv():
    neck = SpikingNormFPN(IN_CHANNELS, 16, num_outs=4)
    units = list(neck.lateral_convs) + list(neck.fpn_convs)
    assert len(units) == 8 and all(isinstance(u, SpikingConvNorm) for u in units)
    assert all(isinstance(u.bn, nn.BatchNorm2d) for u in units)
    outs = neck.eval()(maps())
    reference = SpikingFPN(IN_CHANNELS, 16, num_outs=4).eval()(maps())
    assert [o.shape for o in outs] == [r.shape for r in reference]


def test_outputs_are_normalised_in_training():
    neck = SpikingNormFPN(IN_CHANNELS, 16, num_outs=4).train()
    for out in neck(maps()):
        per_channel = out.transpose(0, 1).flatten(1)
        assert torch.allclose(per_channel.mean(1), torch.zeros(16), atol=1e-4)


def test_fusion_and_spike_driven_form_are_exact_in_float64():
    neck = randomize_statistics(SpikingNormFPN(IN_CHANNELS, 16, num_outs=4).double(), seed=1)
    neck.eval()
    x = maps(torch.float64)
    fused = fuse_norms(neck)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    for a, b in zip(fused(x), neck(x)):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-9)
    result = verify_spike_driven(neck, x)
    assert result['max_rel_err'] <= 1e-12 and result['spike_values'] == [0.0, 1.0]


def test_binary_lif_is_refused_with_the_alternative():
    with pytest.raises(ValueError, match='SpikingFPN'):
        SpikingNormFPN(IN_CHANNELS, 16, num_outs=4, neuron='lif')
