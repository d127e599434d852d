"""BN + MPRF fusion (QSD Appendix D): the fused model computes the same outputs."""
import torch

from mmqsd.deploy import fuse_norms, max_relative_error, randomize_statistics, to_spike_driven
from mmqsd.deploy import Int8Synapse
from mmqsd.layers import MPRF
from mmqsd.models.backbones import QSDTransformer


def test_fused_backbone_equals_unfused_and_has_no_norms_left():
    torch.manual_seed(0)
    model = QSDTransformer(dict(embed_dims=[16, 32, 64, 96], num_heads=4, depths=(2, 1)),
                           out_indices=(0, 1, 2, 3)).double()
    randomize_statistics(model, seed=5).eval()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64) * 2
    fused = fuse_norms(model)
    assert max_relative_error(model(x), fused(x)) < 1e-10
    assert not any(isinstance(m, MPRF) for m in fused.modules())
    # only the BN-and-pad of RepConv stays (it pads with BN(0) before a depthwise conv)
    left = {type(m).__name__ for m in fused.modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}
    assert left == {'BNAndPad'}
    # fused weights are still b-bit integers times a per-channel scale
    conv = fused.stages[2][1].attn.q.conv.pw_out
    assert isinstance(conv, Int8Synapse) and conv.weight.dtype == torch.int8
    assert conv.integer_weight().abs().max() <= 8
    # and the fused model has a spike-driven form too
    assert max_relative_error(fused(x), to_spike_driven(fused)(x)) < 1e-10
