"""QSD models on CUDA: integer and spike-driven inference forms, fp32 and bf16 training steps.

Each compares the device with the CPU (or with the multi-bit model) at the bounds the CPU
tests use.  Skipped without CUDA (see conftest.py).
"""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample
from torch.nn.modules.batchnorm import _BatchNorm

from mmqsd.apis import init_model
from mmqsd.deploy import (SpikeCounts, SpikeValueRecorder, max_relative_error,
                          randomize_statistics, to_integer_inference, verify_spike_driven)
from mmqsd.layers import MPRF, QuantConv2d
from mmqsd.models.backbones import QSDTransformer
from mmqsd.ops.int8_kernels import use_int8_backend

SMALL_ARCH = {'model.backbone.arch': dict(embed_dims=[16, 32, 64, 80], num_heads=4,
                                          depths=(1, 1), _delete_=True),
              'model.head.num_classes': 5, 'model.head.in_channels': 80}


def _record_counts(model):
    """Forward hooks collecting every uint8 count tensor a module emits (CPU copies)."""
    counts = []

    def hook(module, inputs, output):
        if isinstance(output, SpikeCounts) and output.values.dtype == torch.uint8:
            counts.append(output.values.cpu())
    return counts, [m.register_forward_hook(hook) for m in model.modules()]


def _integer_logits(model, x):
    integer = to_integer_inference(model)
    counts, handles = _record_counts(integer)
    with torch.no_grad(), use_int8_backend('int_mm'):
        logits = integer(x, mode='tensor')
    for handle in handles:
        handle.remove()
    return logits.cpu(), counts


@pytest.mark.parametrize('spike_driven', [False, True])
def test_integer_forms_on_device_equal_cpu(device, spike_driven):
    """QSD-T's integer forms converted on the device: the CPU integer form's counts (all but a
    few near a rounding threshold of the float stem) and the fp32 model's predictions."""
    torch.manual_seed(0)
    model = init_model('configs/cls/qsd_t_in1k.py')
    randomize_statistics(model, seed=2)
    x = torch.randn(2, 3, 64, 64) * 2
    with torch.no_grad():
        logits = model(x, mode='tensor')
    cpu_logits, cpu_counts = _integer_logits(model, x)
    if spike_driven:
        integer = to_integer_inference(copy.deepcopy(model).to(device), spike_driven=True)
        with torch.no_grad(), SpikeValueRecorder(integer) as values:
            out = integer(x.to(device), mode='tensor').cpu()
        assert values.values == {0.0, 1.0}
    else:
        out, counts = _integer_logits(copy.deepcopy(model).to(device), x.to(device))
        assert len(counts) == len(cpu_counts) > 10
        differing = sum(int((a != b).sum()) for a, b in zip(counts, cpu_counts))
        assert differing <= 1e-4 * sum(c.numel() for c in counts)
        assert max(int(c.max()) for c in counts) >= 2, 'neurons must fire at several levels'
    assert torch.equal(out.argmax(1), logits.argmax(1))
    assert max_relative_error(logits, out) < 1e-4
    assert max_relative_error(cpu_logits, out) < 1e-4


@pytest.mark.parametrize('integer', [False, True])
def test_spike_driven_forms_equal_multibit_on_device(device, integer):
    """Binary spikes over virtual steps (reference and uint8 deployment forms) on the device."""
    torch.manual_seed(0)
    model = QSDTransformer(dict(embed_dims=[16, 32, 64, 96], num_heads=4, depths=(2, 1)),
                           out_indices=(2, 3))
    randomize_statistics(model, seed=4)
    result = verify_spike_driven(model.to(device), (torch.randn(2, 3, 32, 32) * 2).to(device),
                                 integer=integer)
    assert result['max_rel_err'] <= 1e-4
    assert result['spike_values'] == [0.0, 1.0]
    assert result['multibit_values'] == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_spike_driven_float64_on_device(device):
    torch.manual_seed(0)
    model = randomize_statistics(QSDTransformer('T', out_indices=(0, 1, 2, 3)).double(), seed=3)
    x = torch.randn(1, 3, 32, 32, dtype=torch.float64) * 2
    result = verify_spike_driven(model.to(device), x.to(device))
    assert result['max_rel_err'] <= 1e-5
    assert result['spike_values'] == [0.0, 1.0]


def _train_step(model, wrapper_type, device, conv_dtypes=None):
    """One optimiser step of a copy of ``model`` on ``device``: the loss, the gradients and the
    updated weights (CPU).

    The norms use their (randomised) running statistics, as with ``norm_eval``: with batch
    statistics of 4 images this untrained model is chaotic (a one-ulp change flips a count,
    which shifts the next batch statistics and flips more), so that even float32 and float64
    gradients point in unrelated directions, and no device comparison would mean anything.
    """
    model = copy.deepcopy(model).to(device).train()
    for module in model.modules():
        if isinstance(module, (_BatchNorm, MPRF)):
            module.eval()
    wrapper = build_optim_wrapper(model, dict(type=wrapper_type,
                                              optimizer=dict(type='SGD', lr=0.1)))
    if conv_dtypes is not None:
        conv = next(m for m in model.modules() if isinstance(m, QuantConv2d))
        conv.register_forward_hook(lambda m, i, o: conv_dtypes.append(o.dtype))
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, 32, 32, generator=gen).to(device)
    samples = [DataSample().set_gt_label(i % 5) for i in range(4)]
    with wrapper.optim_context(model):
        loss, _ = model.parse_losses(model(x, samples, mode='loss'))
    wrapper.backward(loss)
    grads = torch.cat([p.grad.flatten().cpu() for p in model.parameters() if p.grad is not None])
    wrapper.step()
    weights = {n: p.detach().cpu() for n, p in model.named_parameters()}
    return float(loss.detach()), grads, weights


@pytest.fixture(scope='module')
def small_classifier():
    torch.manual_seed(0)
    model = init_model('configs/cls/qsd_t_in1k.py', cfg_options=SMALL_ARCH)
    return randomize_statistics(model, seed=5)


def test_fp32_training_step_on_device_equals_cpu(device, small_classifier):
    loss_cpu, grads_cpu, _ = _train_step(small_classifier, 'OptimWrapper', torch.device('cpu'))
    loss, grads, weights = _train_step(small_classifier, 'OptimWrapper', device)
    assert all(w.dtype == torch.float32 for w in weights.values())
    # float32 against float64 on the CPU differ this much (a few counts flip): loss 1e-7,
    # gradients 2.5% in norm, cosine 0.9997
    assert abs(loss - loss_cpu) <= 1e-3 * abs(loss_cpu)
    assert _cosine(grads, grads_cpu) > 0.99
    assert float((grads - grads_cpu).norm() / grads_cpu.norm()) < 0.1


def test_bf16_autocast_training_step_on_device(device, small_classifier):
    """mmqsd.BF16AutocastOptimWrapper on the device: bf16 convolutions, fp32 master weights
    updated, loss and gradients close to the fp32 step's."""
    loss32, grads32, weights32 = _train_step(small_classifier, 'OptimWrapper', device)
    conv_dtypes = []
    loss16, grads16, weights16 = _train_step(small_classifier, 'mmqsd.BF16AutocastOptimWrapper',
                                             device, conv_dtypes)
    assert conv_dtypes == [torch.bfloat16], 'the forward must run under bf16 autocast'
    assert all(w.dtype == torch.float32 for w in weights16.values())
    assert any(not torch.equal(weights16[n], p.detach()) for n, p in
               small_classifier.named_parameters()), 'the fp32 master weights are updated'
    # on the CPU: loss 0.15% apart, gradients 2.4% in norm, cosine 0.9997
    assert abs(loss16 - loss32) <= 0.02 * abs(loss32)
    cosine = _cosine(grads16, grads32)
    assert cosine > 0.98, f'bf16 gradients point elsewhere than fp32 ones (cosine {cosine:.4f})'
    assert float((grads16 - grads32).norm() / grads32.norm()) < 0.2


def _cosine(a, b):
    return float(a @ b / (a.norm() * b.norm()))
