"""QANN -> SNN conversion of CSDformer (Sec. 3.3, Appendices A-C, csdformer.md §7.3, §8)."""
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.models import ImageClassifier

from mmqsd.deploy import (SpikeDrivenAudit, SpikeRecorder, SpikingCSDformer, convert_csdformer,
                          max_relative_error)
from mmqsd.layers import DelayedIFNeuron, LSQActQuant
from mmqsd.models.backbones import CSDformer

from csdformer_helpers import TINY_ARCH, make_tiny_qann, uneven_split

T = 4


def quantiser_codes(model, images):
    """Distinct integer codes emitted by the QANN's quantisers on ``images``."""
    codes = set()
    hooks = [m.register_forward_hook(lambda m, i, o: codes.update((o / m.step).round().unique()
                                                                  .tolist()))
             for m in model.modules() if isinstance(m, LSQActQuant)]
    with torch.no_grad():
        model(images)
    for hook in hooks:
        hook.remove()
    return codes


def block_error(model, delay, seed=0):
    """max |SNN - QANN| of the first block on an uneven residual input, and the output scale."""
    snn = convert_csdformer(model, delay)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(3, model.embed_dims, 16, generator=gen, dtype=torch.float64) * 2
    with torch.no_grad():
        reference = model.blocks[0](x)
        spiking = snn.blocks[0](uneven_split(x, T, seed)).mean(0)
    return (spiking - reference).abs().max().item(), reference.abs().max().item()


def test_the_tiny_model_exercises_every_level(tiny_qann):
    model, images = tiny_qann
    assert quantiser_codes(model, images) == {0, 1, 2, 3, 4}


@pytest.mark.parametrize('delay', [T - 1, T + 1])
def test_block_equals_the_quantised_block_with_delay_at_least_T_minus_1(tiny_qann, delay):
    error, scale = block_error(tiny_qann[0], delay)
    assert scale > 1 and error < 1e-9 * scale


def test_plain_if_block_is_not_equivalent(tiny_qann):
    error, scale = block_error(tiny_qann[0], 0)
    assert error > 1e-2 * scale


def test_whole_backbone_equals_the_qann_on_every_output(tiny_qann):
    model, images = tiny_qann
    snn = SpikingCSDformer(model, out_indices=range(7))
    assert snn.delay == T - 1 and snn.time_steps == T
    model.out_indices = tuple(range(7))
    try:
        with torch.no_grad():
            reference, spiking = model(images), snn(images)
    finally:
        model.out_indices = (6, )
    for ref, out in zip(reference, spiking):
        assert out.shape == (T, ) + ref.shape
        assert max_relative_error(ref, out.mean(0)) < 1e-9


def tiny_classifier(seed=0):
    backbone, images = make_tiny_qann(seed)
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # other tests may set mmdet's
        classifier = ImageClassifier(
            backbone=dict(type='mmqsd.CSDformer', arch=TINY_ARCH, img_size=32),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=5, in_channels=32)).double().eval()
    classifier.backbone.load_state_dict(backbone.state_dict())
    return classifier, images


def test_whole_classifier_logits_equal_with_dif_and_differ_with_plain_if():
    classifier, images = tiny_classifier()
    with torch.no_grad():
        reference = classifier(images, mode='tensor')
        exact = convert_csdformer(classifier)(images)
        plain_if = convert_csdformer(classifier, delay=0)(images)
    assert max_relative_error(reference, exact) < 1e-9
    assert max_relative_error(reference, plain_if) > 1e-2


def test_spikes_are_binary_and_neurons_fire_several_spikes(tiny_qann):
    model, images = tiny_qann
    snn = convert_csdformer(model)
    counts = set()
    hooks = [n.register_forward_hook(lambda m, i, o: counts.update(o.sum(0).unique().tolist()))
             for n in snn.modules() if isinstance(n, DelayedIFNeuron)]
    with SpikeRecorder(snn) as recorder, torch.no_grad():
        snn(images)
    for hook in hooks:
        hook.remove()
    assert len(recorder.handles) == 4 + 2 * 8 + 2  # neurons + TDEC max-pools
    assert recorder.values == {0.0, 1.0}
    assert counts == {0, 1, 2, 3, 4}  # binary frames, multi-spike counts over T


def test_every_multiplication_inside_the_snn_has_a_binary_operand(tiny_qann):
    model, images = tiny_qann
    snn = convert_csdformer(model)
    currents = snn.encode(images)  # the encoding layer: analog image x weights, once
    with SpikeDrivenAudit() as audit, torch.no_grad():
        snn.forward_encoded(currents)
    names = {r.name for r in audit.records}
    assert {'conv1d', 'conv2d', 'matmul'} <= names
    assert audit.violations == []
    with SpikeDrivenAudit() as qann_audit, torch.no_grad():  # the audit does catch the QANN
        model(images)
    assert {r.name for r in qann_audit.violations} >= {'matmul', 'conv1d', 'conv2d'}


def test_time_step_accounting(tiny_qann):
    snn = convert_csdformer(tiny_qann[0], delay=2)
    assert (snn.time_steps, snn.delay, snn.total_time_steps) == (T, 2, T + 2)
    assert snn.num_neuron_layers == 4 + 6 * 2
    assert snn.pipelined_time_steps == T + 16 * 2
    snn.delay = 3
    assert {n.delay for n in snn.modules() if isinstance(n, DelayedIFNeuron)} == {3}
    with pytest.raises(ValueError, match='non-negative'):
        snn.delay = -1


def test_converting_a_float_model_explains_the_fix():
    model = CSDformer(TINY_ARCH, quantized=False)
    with pytest.raises(ValueError, match='quantized=True'):
        convert_csdformer(model)


def test_converting_an_untrained_model_explains_the_fix():
    with pytest.raises(ValueError, match='never initialised'):
        convert_csdformer(CSDformer(TINY_ARCH))


def test_converting_an_unsupported_classifier_layout_explains_the_fix():
    classifier, _ = tiny_classifier()
    classifier.neck = None
    with pytest.raises(ValueError, match='GlobalAveragePooling'):
        convert_csdformer(classifier)
    with pytest.raises(TypeError, match='CSDformer'):
        convert_csdformer(torch.nn.Linear(2, 2))
