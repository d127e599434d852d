"""``with_cp``: activation checkpointing of the QSD / Spikformer / CSDformer backbones (issue 18.4).

Checkpointing must not change anything but memory and time: the loss, every
parameter gradient and every BN / MPRF running statistic after a training step
equal those of the plain model (a plain ``checkpoint`` would update the running
statistics a second time in the recomputation, and BNAndPad's padding value
would change with them); it must really recompute (each block runs twice,
little is saved for the backward pass); and nothing changes in eval mode,
under ``no_grad``, for frozen stages, in the FGD distiller and in deployment.
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample
from torch.utils.checkpoint import checkpoint

from mmqsd.deploy import convert_csdformer, randomize_statistics, to_integer_inference
from mmqsd.deploy.forms import convert
from mmqsd.models.backbones import CSDformer, QSDSpikformer, QSDTransformer
from mmqsd.models.backbones import activation_checkpoint
from mmqsd.models.backbones.activation_checkpoint import RUNNING_STATS, running_stat_slots
from mmqsd.models.distillers import FGDDistiller
from mmqsd.utils import config_checks

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QSD_TINY = dict(embed_dims=[8, 16, 32, 48], num_heads=4, depths=(1, 1))
# Layer scales of 0.5 instead of 1e-6, so that gradients through the blocks are not tiny.
QSD_KW = dict(arch=QSD_TINY, layer_scale_init=0.5, drop_path_rate=0.2)
BACKBONES = {
    'qsd-ie_lif-T2': (QSDTransformer, dict(QSD_KW, time_steps=2), 32),
    'qsd-lif-T2': (QSDTransformer, dict(QSD_KW, neuron='lif', mprf=False, time_steps=2), 32),
    'qsd-frozen-norm_eval': (QSDTransformer, dict(QSD_KW, frozen_stages=1, norm_eval=True), 32),
    'spikformer-T2': (QSDSpikformer, dict(arch=dict(embed_dims=32, depth=2, num_heads=4),
                                          time_steps=2), 32),
    'csdformer': (CSDformer, dict(arch=dict(depth=2, embed_dims=32, num_heads=4), img_size=32,
                                  out_indices=(3, -1)), 32),
}


def build_pair(name):
    """The same backbone (same weights) without and with ``with_cp``, in training mode."""
    cls, kwargs, size = BACKBONES[name]
    torch.manual_seed(0)
    plain = cls(**kwargs)
    randomize_statistics(plain)  # non-trivial running statistics, all firing levels reached
    checkpointed = cls(**kwargs, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    torch.manual_seed(1)
    images = torch.randn(2, 3, size, size) * 2
    return plain.train(), checkpointed.train(), images


def training_step(model, images):
    """Loss (a fixed random projection of every output) and gradients of one step."""
    torch.manual_seed(2)  # same DropPath masks in both models
    outs = model(images)
    generator = torch.Generator().manual_seed(3)
    loss = sum((o * torch.randn(o.shape, generator=generator)).sum() for o in outs)
    loss.backward()
    return loss.detach(), {n: p.grad for n, p in model.named_parameters() if p.requires_grad}


def running_stats(model):
    return {n: b.clone() for n, b in model.named_buffers() if n.split('.')[-1] in RUNNING_STATS}


@pytest.mark.parametrize('name', list(BACKBONES))
def test_loss_gradients_and_running_stats_equal_the_plain_model(name):
    plain, checkpointed, images = build_pair(name)
    loss, grads = training_step(plain, images)
    loss_cp, grads_cp = training_step(checkpointed, images)
    torch.testing.assert_close(loss_cp, loss, rtol=1e-6, atol=1e-6)
    assert grads_cp.keys() == grads.keys()
    assert sum(g is not None and bool(g.abs().sum() > 0) for g in grads.values()) > \
        0.5 * len(grads)  # the comparison has something to compare
    for key, grad in grads.items():
        if grad is None:
            assert grads_cp[key] is None, key
        else:
            torch.testing.assert_close(grads_cp[key], grad, rtol=1e-6, atol=1e-6, msg=key)
    stats, stats_cp = running_stats(plain), running_stats(checkpointed)
    assert stats and stats_cp.keys() == stats.keys()
    for key, value in stats.items():
        torch.testing.assert_close(stats_cp[key], value, rtol=0, atol=0, msg=key)


def test_a_plain_checkpoint_would_update_running_stats_twice(monkeypatch):
    """The pitfall the snapshot guards against (so the test above can fail)."""
    monkeypatch.setattr(activation_checkpoint, 'checkpoint',
                        lambda fn, x, use_reentrant, context_fn: checkpoint(
                            fn, x, use_reentrant=False))
    plain, checkpointed, images = build_pair('qsd-ie_lif-T2')
    training_step(plain, images)
    training_step(checkpointed, images)
    tracked = 'stages.0.0.bn.num_batches_tracked'
    assert running_stats(plain)[tracked] == 1 and running_stats(checkpointed)[tracked] == 2


def count_calls(model):
    """Forward calls per top-level block (the units that are checkpointed)."""
    if isinstance(model, QSDTransformer):
        units = {f'stages.{i}.{j}': m for i, s in enumerate(model.stages) for j, m in enumerate(s)}
    elif isinstance(model, QSDSpikformer):
        units = dict(model.named_children())
        units.update({f'blocks.{i}': m for i, m in enumerate(model.blocks)})
        units.pop('blocks')
    else:
        units = {f'stage{i}': m for i, m in enumerate(model.stages)}
    calls = dict.fromkeys(units, 0)
    for name, module in units.items():
        module.register_forward_pre_hook(lambda *_, name=name: calls.__setitem__(
            name, calls[name] + 1))
    return calls


@pytest.mark.parametrize('name', list(BACKBONES))
def test_every_trainable_block_is_recomputed_once(name):
    _, checkpointed, images = build_pair(name)
    calls = count_calls(checkpointed)
    training_step(checkpointed, images)
    frozen = getattr(checkpointed, 'frozen_stages', -1)
    for unit, count in calls.items():
        if unit == 'readout':  # QSDSpikformer's parameter-free readout is not a block
            assert count == 1
            continue
        stage = int(unit.split('.')[1]) if unit.startswith('stages.') else -1
        assert count == (1 if stage <= frozen and stage >= 0 else 2), unit


def saved_bytes(model, images):
    """Bytes autograd keeps for the backward pass of one training forward."""
    total = [0]

    def pack(tensor):
        total[0] += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(images)
    return total[0]


def test_checkpointing_keeps_far_fewer_activations():
    plain, checkpointed, images = build_pair('qsd-ie_lif-T2')
    assert saved_bytes(checkpointed, images) < 0.1 * saved_bytes(plain, images)


@pytest.mark.parametrize('name', ['qsd-ie_lif-T2', 'spikformer-T2', 'csdformer'])
def test_no_checkpointing_in_eval_or_without_grad(name, monkeypatch):
    used = []
    monkeypatch.setattr(activation_checkpoint, 'checkpoint',
                        lambda *a, **k: used.append(1) or checkpoint(*a, **k))
    plain, checkpointed, images = build_pair(name)
    calls = count_calls(checkpointed)
    def run(model):
        torch.manual_seed(2)  # same DropPath masks
        return model(images)

    with torch.no_grad():  # training mode without gradients (e.g. a statistics pass)
        pairs = [(run(checkpointed), run(plain))]
    pairs.append((run(checkpointed.eval()), run(plain.eval())))
    assert not used and set(calls.values()) == {2}  # once per pass
    for outs, outs_plain in pairs:
        for out, out_plain in zip(outs, outs_plain):
            torch.testing.assert_close(out, out_plain, rtol=0, atol=0)
    checkpointed.train()(images)
    assert used  # the spy does see checkpointing when it happens


# --- FGD distiller with a with_cp student ----------------------------------------------

def classifier(backbone, **head):
    arch = dict(embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4, depths=(2, 1))
    return dict(type='ImageClassifier', backbone=dict(dict(arch=arch), **backbone),
                head=dict(type='mmqsd.QSDClsHead', num_classes=10, in_channels=96,
                          loss=dict(type='CrossEntropyLoss'), **head))


def test_fgd_distiller_with_a_with_cp_student_records_once_and_matches():
    init_default_scope('mmpretrain')
    teacher = classifier(dict(type='mmqsd.ANNTransformer'), weight_bits=None,
                         neuron=dict(type='relu'))
    results = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        student = classifier(dict(type='mmqsd.QSDTransformer', layer_scale_init=0.5,
                                  with_cp=with_cp))
        distiller = FGDDistiller(student, teacher, teacher_ckpt=None).train()
        torch.manual_seed(1)
        images = torch.randn(2, 3, 32, 32) * 2
        samples = [DataSample().set_gt_label(i) for i in range(2)]
        losses = distiller(images, samples, mode='loss')
        sum(losses.values()).backward()  # a second recording would raise in the recorder
        grads = {n: p.grad for n, p in distiller.named_parameters() if p.grad is not None}
        results.append((losses, grads, running_stats(distiller.student)))
    (losses, grads, stats), (losses_cp, grads_cp, stats_cp) = results
    assert set(losses) == {'loss', 'loss_fgd'} and losses['loss_fgd'] > 0
    for key in losses:
        torch.testing.assert_close(losses_cp[key], losses[key], rtol=1e-6, atol=1e-6)
    assert grads_cp.keys() == grads.keys() and grads
    for key in grads:
        torch.testing.assert_close(grads_cp[key], grads[key], rtol=1e-6, atol=1e-6, msg=key)
    for key in stats:
        torch.testing.assert_close(stats_cp[key], stats[key], rtol=0, atol=0, msg=key)


# --- deployment of a model built with with_cp=True --------------------------------------

@pytest.mark.parametrize('form', ['integer', 'spike'])
def test_inference_forms_of_a_with_cp_model(form):
    plain, checkpointed, images = build_pair('qsd-ie_lif-T2')
    training_step(checkpointed, images)  # trained with checkpointing, then deployed
    plain.load_state_dict(checkpointed.state_dict())
    reference = plain.eval()(images)
    deployed = to_integer_inference(checkpointed) if form == 'integer' else \
        convert(checkpointed, form)
    assert not deployed.training
    with torch.no_grad():
        for out, ref in zip(deployed(images), reference):
            torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_csdformer_snn_conversion_of_a_with_cp_model():
    _, qann, images = build_pair('csdformer')
    training_step(qann, images)  # initialises the activation quantisers, with checkpointing
    qann.eval()
    snn = convert_csdformer(qann)
    with torch.no_grad():
        for out, ref in zip(snn(images), qann(images)):
            torch.testing.assert_close(out.mean(0), ref, rtol=1e-4, atol=1e-4)


# --- the argument ------------------------------------------------------------------------

@pytest.mark.parametrize('cls', [QSDTransformer, QSDSpikformer, CSDformer])
@pytest.mark.parametrize('value', ['True', 1, None])
def test_with_cp_must_be_a_bool(cls, value):
    with pytest.raises(TypeError, match=r'with_cp must be True or False, got .*'
                                        r'model\.backbone\.with_cp=True'):
        cls(with_cp=value)


def test_pre_flight_accepts_with_cp_and_names_a_bad_value():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'cls', 'qsd_t_demo_digits.py'))
    cfg.merge_from_dict({'model.backbone.with_cp': True})
    config_checks.check_channels(cfg)
    cfg.merge_from_dict({'model.backbone.with_cp': 'yes'})
    with pytest.raises(config_checks.ConfigError, match="model.backbone: with_cp must be True"):
        config_checks.check_channels(cfg)


def test_running_stat_slots_cover_bn_and_mprf():
    model = QSDTransformer(QSD_TINY)
    kinds = {type(m).__name__ for m, _ in running_stat_slots(model)}
    assert {'SeqBatchNorm2d', 'SeqBatchNorm1d', 'BNAndPad', 'MPRF'} <= kinds
    assert copy.deepcopy(model).with_cp is False
