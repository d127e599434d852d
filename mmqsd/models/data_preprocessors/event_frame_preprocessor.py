"""Batching event frames ``(T, C, H, W)`` into ``(B, T, C, H, W)`` (CIFAR10-DVS, QSD G.4).

mmpretrain's ``ClsDataPreprocessor`` assumes (C, H, W) images: its BGR->RGB
switch fires on any leading dimension of size 3 (here T), and its CutMix
indexes ``inputs[:, :, y, x]``, i.e. the wrong axes of a 5-D batch.  This
subclass stacks the frames, optionally normalises each channel, folds T into
the channels, ``(B, T * C, H, W)``, for the parent's label handling and batch
augmentations (Mixup / CutMix then mix or cut the same region of every frame
of a sample) and unfolds the result.  The backbone reads the
``(B, T, C, H, W)`` batch as T time steps
(:func:`mmqsd.layers.to_multistep`).
"""
from numbers import Number
from typing import Optional, Sequence

import torch
from mmpretrain.models.utils import ClsDataPreprocessor

from ...registry import MODELS


@MODELS.register_module()
class EventFramePreprocessor(ClsDataPreprocessor):
    """Data preprocessor for (T, C, H, W) event frames.

    Args:
        mean, std: per-channel statistics (length C) or None (raw counts, the default).
        num_classes, to_onehot, batch_augments: as in ``ClsDataPreprocessor``.
    """

    def __init__(self, mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None, num_classes: Optional[int] = None,
                 to_onehot: bool = False, batch_augments: Optional[dict] = None):
        super().__init__(num_classes=num_classes, to_onehot=to_onehot,
                         batch_augments=batch_augments)
        if (mean is None) != (std is None):
            raise ValueError('give both mean and std (per frame channel) or neither')
        self._normalize_frames = mean is not None
        if self._normalize_frames:
            self.register_buffer('frame_mean', torch.tensor(mean).view(1, 1, -1, 1, 1), False)
            self.register_buffer('frame_std', torch.tensor(std).view(1, 1, -1, 1, 1), False)

    def stack_frames(self, inputs) -> torch.Tensor:
        """A list of (T, C, H, W) tensors (or a stacked batch) -> (B, T, C, H, W) float."""
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) != 1 or len(next(iter(shapes))) != 4:
                raise ValueError(f'EventFramePreprocessor needs (T, C, H, W) frames of one shape '
                                 f'per batch, got {sorted(shapes)}; load them with LoadEventFrames '
                                 'and add ResizeEventFrames to the pipeline')
            inputs = torch.stack(list(inputs))
        if inputs.dim() != 5:
            raise ValueError(f'EventFramePreprocessor needs (B, T, C, H, W) frames, got '
                             f'{tuple(inputs.shape)}; for images use ClsDataPreprocessor')
        inputs = inputs.float()
        if self._normalize_frames:
            inputs = (inputs - self.frame_mean) / self.frame_std
        return inputs

    def forward(self, data: dict, training: bool = False) -> dict:
        frames = self.stack_frames(self.cast_data(data['inputs']))
        b, t, c, h, w = frames.shape
        out = super().forward(dict(data, inputs=frames.reshape(b, t * c, h, w)), training)
        out['inputs'] = out['inputs'].reshape(b, t, c, h, w)
        return out
