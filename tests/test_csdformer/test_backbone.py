"""CSDformer tailored / quantised transformer backbone (Sec. 3.1-3.2, csdformer.md §2)."""
import pytest
import torch
from torch import nn

from mmqsd.layers import LSQActQuant, TailoredAttention, merge_token_heads, split_token_heads
from mmqsd.models.backbones import CSDformer

from csdformer_helpers import TINY_ARCH

# Paper Tables 1-2 (M parameters, 1000 ImageNet / 10 CIFAR-10 classes) and our exact counts
# of the float model with its linear head.  They agree to the paper's last digit (within
# 0.01M): 8-384 and 8-512 are 16.816M / 29.689M, which the paper prints as 16.81 / 29.68
# (truncated, as in Spikformer's table it copies), while 66.339M is printed rounded, 66.34.
PAPER_PARAMS = {
    '8-384': (16.81, 16_816_024, 1000),
    '8-512': (29.68, 29_689_384, 1000),
    '8-768': (66.34, 66_338_632, 1000),
    '4-384': (9.32, 9_320_122, 10),
    '2-384': (5.76, 5_762_746, 10),
    '4-256': (4.15, 4_152_106, 10),
}


def num_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('arch', sorted(PAPER_PARAMS))
def test_parameter_counts_match_the_paper(arch):
    paper, exact, num_classes = PAPER_PARAMS[arch]
    model = CSDformer(arch, quantized=True)
    depth, dim = model.arch['depth'], model.embed_dims
    quantisers = [m for m in model.modules() if isinstance(m, LSQActQuant)]
    assert len(quantisers) == 4 + 8 * depth  # one per ReLU site of the float model
    head = (dim + 1) * num_classes
    float_count = num_params(model) - len(quantisers) + head
    assert float_count == exact
    assert abs(float_count / 1e6 - paper) < 0.01
    assert abs((num_params(model) + head) / 1e6 - paper) < 0.01  # step sizes add ~100


@pytest.mark.parametrize('img_size,num_pools,tokens', [(224, 4, 196), (32, 2, 64)])
def test_tokenizer_layout_follows_the_image_size(img_size, num_pools, tokens):
    model = CSDformer(dict(depth=1, embed_dims=16, num_heads=2), img_size=img_size,
                      out_indices=tuple(range(6)))
    assert model.num_pools == num_pools
    outs = model(torch.randn(1, 3, img_size, img_size))
    assert [o.shape[1] for o in outs] == [2, 4, 8, 16, 16, 16] == list(model.stage_channels)
    assert [img_size // o.shape[-1] for o in outs] == list(model.stage_strides)
    assert outs[-1].shape[-2] * outs[-1].shape[-1] == tokens  # 196 (ImageNet) / 64 (CIFAR)


def test_out_indices_select_multiscale_outputs_for_dense_prediction():
    model = CSDformer(TINY_ARCH, num_pools=4, out_indices=(2, 3, -1))
    assert model.out_indices == (2, 3, 6)
    outs = model(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 16, 16), (2, 32, 8, 8), (2, 32, 4, 4)]


def test_float_model_is_relu_with_nrelu_attention():
    model = CSDformer(TINY_ARCH, quantized=False, img_size=32).eval()
    assert not any(isinstance(m, LSQActQuant) for m in model.modules())
    assert model.levels is None
    attn = model.blocks[0].attn
    x = torch.randn(2, 32, 12)  # 12 tokens, 2 heads of d_k = 16
    xr = torch.relu(x)
    q, k, v = (split_token_heads(torch.relu(p(xr)), 2) for p in (attn.q, attn.k, attn.v))
    assert q.shape == (2, 2, 12, 16)
    scores = torch.relu(q @ k.transpose(-1, -2) / 16**0.5) / 12  # NReLU: ReLU(.)/N
    expected = attn.proj(torch.relu(merge_token_heads(scores @ v)))
    assert torch.allclose(attn(x), expected, atol=1e-6)


def test_quantised_model_trains_its_steps_and_weights():
    model = CSDformer(TINY_ARCH, img_size=32)
    model(torch.randn(2, 3, 16, 16))[0].square().mean().backward()
    steps = [m.step.grad for m in model.modules() if isinstance(m, LSQActQuant)]
    assert all(g is not None for g in steps) and any(g.abs().sum() > 0 for g in steps)
    assert model.blocks[0].attn.q.conv.weight.grad.abs().sum() > 0


def test_frozen_stages_and_norm_eval():
    model = CSDformer(TINY_ARCH, frozen_stages=5, norm_eval=True).train()
    assert not any(p.requires_grad for p in model.tokenizer.parameters())
    assert not any(p.requires_grad for p in model.blocks[0].parameters())
    assert all(p.requires_grad for p in model.blocks[1].parameters())
    assert not any(m.training for m in model.modules() if isinstance(m, nn.BatchNorm1d))


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='8-1024'), 'unknown CSDformer arch'),
    (dict(arch=dict(depth=2, embed_dims=36, num_heads=4)), 'multiple of 8'),
    (dict(arch=dict(depth=2, embed_dims=48, num_heads=5)), 'not divisible by num_heads'),
    (dict(arch=dict(embed_dims=32, num_heads=2)), 'missing'),
    (dict(out_indices=(7, )), 'out_indices'),
    (dict(num_pools=5), 'num_pools'),
    (dict(levels=0), 'quantisation level'),
])
def test_bad_arguments_explain_the_fix(kwargs, match):
    kwargs = dict(dict(arch=TINY_ARCH), **kwargs)
    with pytest.raises(ValueError, match=match):
        CSDformer(**kwargs)


def test_attention_rejects_heads_that_do_not_divide_the_width():
    with pytest.raises(ValueError, match='num_heads'):
        TailoredAttention(30, 4, levels=4)
