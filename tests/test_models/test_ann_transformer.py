"""The ANN counterpart (FGD teacher): same layout and q/k/v shapes, real values, MHSA."""
import pytest
import torch
import torch.nn.functional as F

from mmqsd.analysis import model_size
from mmqsd.deploy import to_spike_driven
from mmqsd.layers import IELIF, LIF, QSDSA, multi_head_attention
from mmqsd.models.backbones import ANNTransformer, QSDTransformer
from mmqsd.models.distillers import QKVRecorder
from mmqsd.registry import MODELS

TINY = dict(embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4, depths=(2, 1))


def test_registered_and_real_valued():
    model = MODELS.get('ANNTransformer')(TINY)
    assert model.weight_bits is None
    assert not any(isinstance(m, (IELIF, LIF)) for m in model.modules())
    assert any(isinstance(m, torch.nn.ReLU) for m in model.modules())
    assert all(blk.attn.attention_mode == 'softmax' and blk.attn.q.mprf is None
               for stage in model.stages[2:] for blk in stage[1:])
    with pytest.raises(ValueError, match='no mmqsd spiking neuron'):
        to_spike_driven(model)


@pytest.mark.parametrize('size', [32, 64])
def test_qkv_shapes_equal_the_students_layer_by_layer(size):
    student, teacher = QSDTransformer(TINY), ANNTransformer(TINY)
    x = torch.randn(2, 3, size, size)
    shapes = []
    for model in (student, teacher):
        with QKVRecorder(model) as recorder:
            model(x)
            shapes.append([{b: r[b].shape for b in 'qkv'} for r in recorder.records])
        assert recorder.layer_names == ['stages.2.1.attn', 'stages.2.2.attn', 'stages.3.1.attn']
    assert shapes[0] == shapes[1]


@pytest.mark.parametrize('arch', ['T', 'M', 'L'])
def test_same_parameters_as_the_student_without_quantiser_and_mprf(arch):
    ann, student = model_size(ANNTransformer(arch)), model_size(QSDTransformer(arch, mprf=False))
    assert ann['params'] == student['params'] and ann['lsq_step_params'] == 0
    if arch == 'T':  # + the 1000-class head (360 x 1000 + 1000): 15.1M, Table 1's CAFormer*
        assert ann['params'] + 361_000 == 15_116_720


def test_softmax_attention_is_standard_mhsa():
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, 8, 3, 3, generator=gen) for _ in range(3))  # (T, B, C, H, W)
    out = multi_head_attention(q, k, v, num_heads=2, mode='softmax', scale=4 ** -0.5)

    def heads(t):  # (T, B, C, H, W) -> (T, B, heads, N, d)
        return t.flatten(-2).unflatten(-2, (2, 4)).transpose(-1, -2)
    expected = F.scaled_dot_product_attention(heads(q), heads(k), heads(v))
    assert torch.allclose(heads(out), expected, atol=1e-6)


def test_attention_options_explain_the_fix():
    with pytest.raises(ValueError, match='unknown attention'):
        QSDSA(8, 2, dict(type='ie_lif'), 4, attention='linear')
    with pytest.raises(ValueError, match='set mprf=False'):
        ANNTransformer(TINY, mprf=True)
    softmax_snn = QSDTransformer(TINY, attention='softmax')  # a spiking model with MHSA
    with pytest.raises(TypeError, match='no spike-driven form'):
        to_spike_driven(softmax_snn.eval())


def test_backward_reaches_every_parameter():
    model = ANNTransformer(TINY, layer_scale_init=0.5)
    model(torch.randn(2, 3, 32, 32))[0].square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, missing
