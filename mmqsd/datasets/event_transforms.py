"""Pipeline transforms for event frames ``results['img']`` of shape (T, C, H, W).

mmpretrain's image transforms assume (H, W, C) images, so frames get their
own: loading (:class:`LoadEventFrames`), resizing, and the augmentations used
for CIFAR10-DVS in the SNN literature (QSD Appendix G.4 refers to MST and
SpikingResformer; the common recipe, as in TET / SDT training code, is a
random horizontal flip and a random roll of up to 5 pixels in x and y, with
cutout as an option).  One random draw applies to every frame and channel of
a sample, so the motion in the recording is kept.  mmpretrain's
``PackInputs`` packs the (T, C, H, W) array unchanged; the model then gets
(B, T, C, H, W) batches (see :class:`mmqsd.models.EventFramePreprocessor`).
"""
from typing import Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform

from ..registry import TRANSFORMS
from .event_frames import CHANNELS, check_channels, check_num_frames, load_polarity_frames, \
    select_channels


def _frames(results: dict, name: str) -> np.ndarray:
    frames = results.get('img')
    if not isinstance(frames, np.ndarray) or frames.ndim != 4:
        shape = getattr(frames, 'shape', type(frames).__name__)
        raise ValueError(f'{name} expects results["img"] as (T, C, H, W) frames from '
                         f'LoadEventFrames, got {shape}')
    return frames


def _set_frames(results: dict, frames: np.ndarray) -> dict:
    results['img'] = np.ascontiguousarray(frames, dtype=np.float32)
    results['img_shape'] = frames.shape[-2:]
    return results


@TRANSFORMS.register_module()
class LoadEventFrames(BaseTransform):
    """Read ``results['img_path']`` (``.aedat`` or ``.npz``) into (T, C, H, W) frames.

    Args:
        num_frames: T, the number of equal-event-count slices (10 in the paper).
        channels: frame channels, see :mod:`mmqsd.datasets.event_frames`
            (default: ON, OFF, all events).
    """

    def __init__(self, num_frames: int = 10, channels: Sequence[str] = CHANNELS):
        self.num_frames = check_num_frames(num_frames)
        self.channels = check_channels(channels)

    def transform(self, results: dict) -> dict:
        polarity = load_polarity_frames(results['img_path'], self.num_frames)
        results['ori_shape'] = polarity.shape[-2:]
        return _set_frames(results, select_channels(polarity, self.channels))

    def __repr__(self):
        return f'{type(self).__name__}(num_frames={self.num_frames}, channels={self.channels})'


@TRANSFORMS.register_module()
class ResizeEventFrames(BaseTransform):
    """Resize frames to ``size`` (int or (h, w)); 'area' averages counts when shrinking."""

    def __init__(self, size: Union[int, Sequence[int]], interpolation: str = 'area'):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if interpolation not in ('area', 'bilinear', 'nearest'):
            raise ValueError(f"interpolation must be 'area', 'bilinear' or 'nearest', "
                             f'got {interpolation!r}')
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        frames = _frames(results, type(self).__name__)
        if frames.shape[-2:] == self.size:
            return results
        extra = dict(align_corners=False) if self.interpolation == 'bilinear' else {}
        resized = F.interpolate(torch.from_numpy(np.ascontiguousarray(frames, np.float32)),
                                size=self.size, mode=self.interpolation, **extra)
        return _set_frames(results, resized.numpy())


@TRANSFORMS.register_module()
class EventFrameFlip(BaseTransform):
    """Flip all frames left-right with probability ``prob``."""

    def __init__(self, prob: float = 0.5):
        self.prob = prob

    def transform(self, results: dict) -> dict:
        frames = _frames(results, type(self).__name__)
        flip = bool(np.random.rand() < self.prob)
        results['flip'], results['flip_direction'] = flip, 'horizontal' if flip else None
        return _set_frames(results, frames[..., ::-1]) if flip else results


@TRANSFORMS.register_module()
class EventFrameTranslate(BaseTransform):
    """Shift all frames by random integers ``dy, dx`` in ``[-max_shift, max_shift]``.

    ``mode='roll'`` wraps pixels around (``np.roll``, the SNN-literature
    recipe); ``mode='zero'`` fills the uncovered border with zeros.
    """

    def __init__(self, max_shift: int = 5, mode: str = 'roll'):
        if mode not in ('roll', 'zero'):
            raise ValueError(f"mode must be 'roll' or 'zero', got {mode!r}")
        self.max_shift, self.mode = int(max_shift), mode

    def transform(self, results: dict) -> dict:
        frames = _frames(results, type(self).__name__)
        dy, dx = np.random.randint(-self.max_shift, self.max_shift + 1, size=2)
        shifted = np.roll(frames, (dy, dx), axis=(-2, -1))
        if self.mode == 'zero':
            rows = slice(0, dy) if dy > 0 else slice(frames.shape[-2] + dy, None)
            cols = slice(0, dx) if dx > 0 else slice(frames.shape[-1] + dx, None)
            shifted[..., rows, :] = 0
            shifted[..., :, cols] = 0
        return _set_frames(results, shifted)


@TRANSFORMS.register_module()
class EventFrameCutout(BaseTransform):
    """With probability ``prob`` zero a ``size`` x ``size`` square (clipped at the border)."""

    def __init__(self, size: int = 16, prob: float = 1.0):
        self.size, self.prob = int(size), prob

    def transform(self, results: dict) -> dict:
        frames = _frames(results, type(self).__name__)
        if np.random.rand() >= self.prob:
            return results
        h, w = frames.shape[-2:]
        cy, cx = np.random.randint(h), np.random.randint(w)
        top, left = cy - self.size // 2, cx - self.size // 2
        frames = frames.copy()
        frames[..., max(top, 0):top + self.size, max(left, 0):left + self.size] = 0
        return _set_frames(results, frames)
