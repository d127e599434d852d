"""Spike-driven inference (binary spikes over virtual time steps) equals the multi-bit model."""
import pytest
import torch

from mmqsd.deploy import (FloatSynapse, IELIFSpikes, SpikeTrain, SpikeValueRecorder,
                          randomize_statistics, to_spike_driven, verify_spike_driven)
from mmqsd.layers import (IELIF, MLP, QSDSA, ConvBlock, Downsample, RepConv, SepConv,
                          TransformerBlock, split_heads)
from mmqsd.models.backbones import QSDTransformer

NEURON = dict(type='ie_lif', levels=4)


def multistep_input(channels, size=6, dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(2, 2, channels, size, size, generator=gen) * 1.5 + 0.5).to(dtype)


BLOCKS = {
    'downsample': lambda: Downsample(8, 16, 3, 2, 1, NEURON, 4),
    'sepconv': lambda: SepConv(8, NEURON, 4),
    'convblock': lambda: ConvBlock(8, NEURON, 4),
    'neuron_repconv': lambda: torch.nn.Sequential(IELIF(4), RepConv(8, 8, 4)),
    'qsdsa': lambda: QSDSA(8, 2, NEURON, 4, mprf=True),
    'qsdsa_no_mprf_2bit': lambda: QSDSA(8, 4, NEURON, 2, mprf=False),
    'mlp': lambda: MLP(8, NEURON, 3),
    'transformer_block': lambda: TransformerBlock(8, 2, NEURON, 4, layer_scale_init=0.8),
}


@pytest.mark.parametrize('name', sorted(BLOCKS))
def test_each_block_type_is_equivalent_in_float64(name):
    torch.manual_seed(0)
    block = randomize_statistics(BLOCKS[name]().double(), seed=1)
    x = multistep_input(8)
    result = verify_spike_driven(block, x)
    assert result['max_rel_err'] <= 1e-12
    assert result['spike_values'] == [0.0, 1.0]
    assert len(result['multibit_values']) >= 3, 'neurons must fire at several levels'


def test_attention_product_is_not_per_step():
    """The spike-driven Q-SDSA must realise (sum q)(sum k)^T (sum v), not sum_t q_t k_t^T v_t."""
    torch.manual_seed(0)
    attn = randomize_statistics(QSDSA(8, 2, NEURON, 4).double(), seed=2).eval()
    x = multistep_input(8)
    spike_attn = to_spike_driven(attn)
    reference = attn.attention(x)
    assert torch.allclose(spike_attn.attention(x), reference, atol=1e-10)
    # the naive per-step shortcut gives a different answer on the same spikes
    s = spike_attn.head_neuron(x)
    q, k, v = (b(s).map(lambda t: split_heads(t, attn.num_heads))
               for b in (spike_attn.q, spike_attn.k, spike_attn.v))
    assert all(isinstance(t, SpikeTrain) for t in (q, k, v))
    per_step = (q.spikes @ (k.spikes.transpose(-1, -2) @ v.spikes)).sum(0) * q.scale * k.scale \
        * v.scale * spike_attn.scale
    per_step = per_step.transpose(-1, -2).flatten(-3, -2).unflatten(-1, x.shape[-2:])
    assert not torch.allclose(per_step, reference, atol=1e-3)


@pytest.mark.parametrize('arch', ['T', 'M', 'L'])
def test_whole_backbones_float64(arch):
    torch.manual_seed(0)
    model = QSDTransformer(arch, out_indices=(0, 1, 2, 3)).double()
    randomize_statistics(model, seed=3)
    x = torch.randn(1, 3, 32, 32, dtype=torch.float64) * 2
    result = verify_spike_driven(model, x)
    assert result['max_rel_err'] <= 1e-5
    assert result['spike_values'] == [0.0, 1.0]
    assert result['multibit_values'] == [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize('neuron,levels,bits', [('ie_lif', 4, 4), ('ie_lif', 2, 2),
                                                ('lif', 1, 3), ('ie_lif', 4, None)])
def test_backbone_variants_float32(neuron, levels, bits):
    torch.manual_seed(0)
    model = QSDTransformer(dict(embed_dims=[16, 32, 64, 96], num_heads=4, depths=(2, 1)),
                           neuron=neuron, levels=levels, weight_bits=bits,
                           time_steps=2 if neuron == 'lif' else 1, out_indices=(2, 3))
    randomize_statistics(model, seed=4)
    result = verify_spike_driven(model, torch.randn(2, 3, 32, 32) * 2)
    assert result['max_rel_err'] <= 1e-4
    assert result['spike_values'] == [0.0, 1.0]


def test_spike_driven_model_emits_only_binary_spike_trains():
    model = randomize_statistics(QSDTransformer(
        dict(embed_dims=[16, 32, 64, 96], num_heads=4, depths=(1, 1))))
    spike_model = to_spike_driven(model)
    with SpikeValueRecorder(spike_model) as recorder:
        spike_model(torch.randn(1, 3, 32, 32))
    assert recorder.values == {0.0, 1.0}
    assert not any(isinstance(m, (IELIFSpikes, FloatSynapse)) for m in model.modules()), \
        'to_spike_driven must not modify the original model'
    with pytest.raises(ValueError, match='no mmqsd spiking neuron'):
        to_spike_driven(torch.nn.Linear(2, 2))
