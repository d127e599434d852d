"""q/k/v recorders: module selection, per-head shapes and values, graph handling."""
import pytest
import torch

from mmqsd.deploy import randomize_statistics, to_spike_driven
from mmqsd.layers import QSDSA
from mmqsd.models.backbones import ANNTransformer, QSDSpikformer, QSDTransformer
from mmqsd.models.distillers import QKVRecorder

TINY = dict(embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4, depths=(2, 1))
ATTENTION = ['stages.2.1.attn', 'stages.2.2.attn', 'stages.3.1.attn']


def test_selects_every_qsdsa_in_order_with_per_head_shapes():
    model = QSDTransformer(TINY)
    recorder = QKVRecorder(model)
    assert recorder.layer_names == ATTENTION
    assert recorder.num_heads == [4, 4, 4]
    with recorder:
        model(torch.randn(2, 3, 32, 32))  # stride 16: 2 x 2 = 4 tokens
        shapes = [{b: tuple(r[b].shape) for b in 'qkv'} for r in recorder.records]
    stage3, stage4 = {b: (1, 2, 4, 4, 16) for b in 'qkv'}, {b: (1, 2, 4, 4, 24) for b in 'qkv'}
    assert shapes == [stage3, stage3, stage4]


def test_records_are_the_branch_outputs_split_per_head():
    model = QSDTransformer(TINY, layer_scale_init=0.5)
    captured = {}
    branch = model.stages[3][1].attn.k
    handle = branch.register_forward_hook(lambda m, i, o: captured.update(k=o))
    with QKVRecorder(model) as recorder:
        model(torch.randn(2, 3, 32, 32) * 3)
        recorded = recorder.records[-1]['k']
    handle.remove()
    k = captured['k']  # (T, B, C, H, W), IE-LIF spikes
    assert set(k.unique().tolist()) <= {0, 0.25, 0.5, 0.75, 1.0}
    for head in range(4):
        channels = k[:, :, head * 24:(head + 1) * 24].flatten(-2).transpose(-1, -2)  # (T, B, N, d)
        assert torch.equal(recorded[:, :, head], channels)


@pytest.mark.parametrize('kwargs,expected', [
    (dict(name_pattern=r'stages\.3\.'), ['stages.3.1.attn']),
    (dict(module_types=('QSDSA', )), ATTENTION),
    (dict(module_types=(QSDSA, ), name_pattern=r'2\.2'), ['stages.2.2.attn']),
])
def test_selection_by_name_and_type(kwargs, expected):
    assert QKVRecorder(QSDTransformer(TINY), **kwargs).layer_names == expected


def test_no_matching_layer_explains_the_fix():
    with pytest.raises(ValueError, match='no attention layer'):
        QKVRecorder(QSDTransformer(TINY), name_pattern='neck')
    with pytest.raises(ValueError, match=r"has no \['num_heads', 'q', 'k', 'v'\]"):
        QKVRecorder(QSDTransformer(TINY), module_types=('TransformerBlock', ))


def test_student_records_carry_the_graph_teacher_records_do_not():
    student, teacher = QSDTransformer(TINY), ANNTransformer(TINY)
    x = torch.randn(2, 3, 32, 32)
    with QKVRecorder(student) as s_rec, QKVRecorder(teacher, detach=True) as t_rec:
        with torch.no_grad():
            teacher(x)
        student(x)
        assert all(r[b].requires_grad for r in s_rec.records for b in 'qkv')
        assert all(not r[b].requires_grad and r[b].grad_fn is None
                   for r in t_rec.records for b in 'qkv')


def test_hooks_and_records_are_removed_on_exit():
    model = QSDTransformer(TINY)
    with QKVRecorder(model) as recorder:
        model(torch.randn(1, 3, 32, 32))
    assert recorder.records == []
    assert not any(m._forward_hooks for m in model.modules())


def test_a_second_forward_in_one_context_is_an_error():
    model = QSDTransformer(TINY)
    with QKVRecorder(model), pytest.raises(RuntimeError, match='ran twice'):
        model(torch.randn(1, 3, 32, 32))
        model(torch.randn(1, 3, 32, 32))


def test_spike_driven_model_records_the_same_values():
    torch.manual_seed(0)
    model = randomize_statistics(QSDTransformer(TINY).double(), seed=1).eval()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64) * 3
    results = []
    for m in (model, to_spike_driven(model)):
        with QKVRecorder(m) as recorder:
            m(x)
            results.append([r['q'] for r in recorder.records])
    for multibit, spike_driven in zip(*results):
        assert torch.allclose(multibit, spike_driven)


def test_spikformer_attention_is_recorded():
    arch = dict(embed_dims=32, depth=2, num_heads=4)
    model = QSDSpikformer(arch)
    with QKVRecorder(model) as recorder:
        model(torch.randn(1, 3, 32, 32))
        assert recorder.layer_names == ['blocks.0.attn', 'blocks.1.attn']
        assert recorder.records[0]['v'].shape == (1, 1, 4, 4, 8)
