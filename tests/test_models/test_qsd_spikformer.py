"""QSD-Spikformer (Table 5): size, shapes, exact spike-driven form, spike max-pool."""
import pytest
import torch

from mmqsd.analysis import model_size
from mmqsd.deploy import fuse_norms, randomize_statistics, verify_spike_driven
from mmqsd.deploy import SpikeTrain, SpikeTrainMaxPool2d, SpikeTrainSum
from mmqsd.layers import SpikeMaxPool2d
from mmqsd.models.backbones import QSDSpikformer
from mmqsd.models.heads import QSDClsHead
from mmqsd.ops import counts_to_spike_train

TINY = dict(embed_dims=32, depth=2, num_heads=4, mlp_ratio=4)

# Spikformer-8-384 with the 1000-class head, derived by hand: SPS 2,201,520 (convs without
# bias, BN), 8 blocks x 1,778,688 (q/k/v without bias, proj/MLP with bias, BN), head
# 385,000.  The paper lists 16.81M.
SPIKFORMER_8_384_PARAMS = 16_816_024


def test_parameter_count_of_spikformer_8_384():
    backbone = QSDSpikformer('8-384', weight_bits=None, neuron='lif', mprf=False)
    head = QSDClsHead(1000, 384, weight_bits=None, neuron=dict(type='identity'))
    assert model_size(backbone)['params'] + model_size(head)['params'] == SPIKFORMER_8_384_PARAMS
    qsd = model_size(QSDSpikformer('8-384'))  # 4-bit, IE-LIF, MPRF on q/k/v (+2C per branch)
    assert qsd['params'] == SPIKFORMER_8_384_PARAMS - 385_000 + 8 * 3 * 2 * 384
    assert qsd['weight_bits'] == 4


def test_output_shape_and_time_steps():
    (out, ) = QSDSpikformer(TINY, neuron='lif', time_steps=3)(torch.randn(2, 3, 64, 64))
    assert out.shape == (3, 2, 32, 4, 4)
    values = set(out.unique().tolist())  # residual stream: spike counts 0..1 + 2 blocks x 2
    assert values <= {0., 1., 2., 3., 4., 5., 6.}


@pytest.mark.parametrize('backbone', [
    dict(),  # IE-LIF, MPRF, 4-bit
    dict(weight_bits=2, mprf=False),
    dict(neuron='lif', time_steps=2, mprf=False, attn_neuron_cfg=dict(threshold=0.5)),
])
def test_spike_driven_form_is_exact(backbone):
    torch.manual_seed(0)
    model = randomize_statistics(QSDSpikformer(TINY, **backbone).double(), seed=1)
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64) * 2
    result = verify_spike_driven(model, x)
    assert result['max_rel_err'] <= 1e-12
    assert result['spike_values'] == [0.0, 1.0]
    assert len(result['multibit_values']) >= 2


def test_bn_and_mprf_fusion_keeps_outputs():
    torch.manual_seed(0)
    model = randomize_statistics(QSDSpikformer(TINY).double(), seed=2).eval()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64) * 2
    fused = fuse_norms(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert torch.allclose(fused(x)[0], model(x)[0], atol=1e-9)


def test_spike_max_pool_equals_pooling_the_counts():
    counts = torch.randint(0, 5, (2, 3, 6, 6)).double()
    train = SpikeTrain(counts_to_spike_train(counts, 4), 0.25)
    pooled = SpikeTrainMaxPool2d()(train)
    assert isinstance(pooled, SpikeTrain)
    assert torch.equal(pooled.to_dense(), SpikeMaxPool2d()(counts * 0.25))
    scrambled = SpikeTrain(train.spikes.flip(0), 0.25)  # same counts, not a thermometer code
    with pytest.raises(ValueError, match='thermometer'):
        SpikeTrainMaxPool2d()(scrambled)


def test_adding_spike_trains():
    a = SpikeTrain(torch.ones(2, 3), 0.25)
    add_spikes = SpikeTrainSum()
    assert torch.equal(add_spikes(a, a).to_dense(), torch.full((3, ), 1.0))
    with pytest.raises(TypeError, match='same spike value'):
        add_spikes(a, SpikeTrain(torch.ones(1, 3), 1.0))
    with pytest.raises(TypeError, match='same spike value'):
        add_spikes(a, torch.ones(3))


def test_ann_counterpart_has_the_students_qkv_layout():
    ann = QSDSpikformer(TINY, weight_bits=None, neuron=dict(type='relu'), mprf=False,
                        attention='softmax', attn_scale=None)
    assert ann.blocks[0].attn.scale == pytest.approx(8 ** -0.5)
    assert model_size(ann)['lsq_step_params'] == 0
    ann(torch.randn(1, 3, 32, 32))[0].sum().backward()
    assert all(p.grad is not None for p in ann.parameters())


@pytest.mark.parametrize('arch,match', [
    ('8-1024', 'unknown QSDSpikformer arch'),
    (dict(embed_dims=36, depth=2, num_heads=4), 'divisible by 8'),
    (dict(embed_dims=32, depth=2), 'num_heads'),
])
def test_bad_arch_explains_the_fix(arch, match):
    with pytest.raises(ValueError, match=match):
        QSDSpikformer(arch)
