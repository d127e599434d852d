"""(B, T, C, H, W) event frames through EventFramePreprocessor, the backbone and the head."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from mmqsd.models.backbones import QSDTransformer
from mmqsd.models.data_preprocessors import EventFramePreprocessor
from mmqsd.models.heads.qsd_cls_head import QSDClsHead

TINY = dict(embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4, depths=(1, 1))


def _batch(b=4, t=3, c=3, size=16):
    values = torch.arange(b * t * c, dtype=torch.float32).view(b, t, c, 1, 1) + 1
    frames = values.expand(b, t, c, size, size).clone()
    samples = [DataSample().set_gt_label(i % 10) for i in range(b)]
    return frames, samples


def test_stacks_frames_without_rgb_flip_and_normalises_per_channel():
    frames, samples = _batch(t=3, c=3)  # T == 3 must not be taken for BGR channels
    out = EventFramePreprocessor()(dict(inputs=list(frames), data_samples=samples))
    assert out['inputs'].shape == (4, 3, 3, 16, 16) and torch.equal(out['inputs'], frames)
    norm = EventFramePreprocessor(mean=[1, 2, 3], std=[2, 2, 2])
    out = norm(dict(inputs=list(frames), data_samples=samples))
    expected = (frames - torch.tensor([1., 2., 3.]).view(1, 1, 3, 1, 1)) / 2
    assert torch.allclose(out['inputs'], expected)


def test_cutmix_cuts_the_same_region_from_every_frame_and_channel():
    frames, samples = _batch(b=6, t=4, c=2, size=32)
    pre = EventFramePreprocessor(num_classes=10, batch_augments=dict(
        augments=[dict(type='CutMix', alpha=1.0)]))
    torch.manual_seed(1)
    np.random.seed(1)
    out = pre(dict(inputs=frames.clone(), data_samples=samples), training=True)
    changed = out['inputs'] != frames  # (B, T, C, H, W)
    assert changed.any()
    for b in range(6):
        assert (changed[b] == changed[b, :1, :1]).all()  # one spatial box for all T and C
    assert out['data_samples'][0].gt_score.shape == (10, )
    with pytest.raises(ValueError, match=r'\(B, T, C, H, W\)'):
        pre(dict(inputs=torch.zeros(2, 3, 8, 8), data_samples=samples[:2]))


@pytest.mark.parametrize('neuron,stateful', [('lif', True), ('ie_lif', False)])
def test_backbone_runs_t_steps_on_frames(neuron, stateful):
    torch.manual_seed(0)
    model = QSDTransformer(TINY, neuron=neuron, time_steps=10, out_indices=(0, 3)).eval()
    frame = torch.rand(2, 1, 3, 32, 32) * 3
    with torch.no_grad():
        first, last = model(frame.expand(2, 10, 3, 32, 32))  # the same frame at every step
    assert first.shape == (10, 2, 16, 8, 8) and last.shape == (10, 2, 96, 2, 2)
    differs = [not torch.equal(first[0], first[t]) for t in range(1, 10)]
    # LIF keeps its membrane potential across the 10 steps, IE-LIF is stateless per step
    assert any(differs) == stateful and all(not d for d in differs) != stateful


def test_head_averages_logits_over_time():
    torch.manual_seed(0)
    head = QSDClsHead(num_classes=10, in_channels=96, weight_bits=None).eval()
    feats = torch.rand(10, 2, 96, 2, 2)
    per_step = torch.stack([head((feats[t:t + 1], )) for t in range(10)])
    assert torch.allclose(head((feats, )), per_step.mean(0), atol=1e-6)
