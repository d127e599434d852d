"""Model inputs for the analysis tools: random tensors or images from a config's val set.

A batch is an :class:`AnalysisBatch` (preprocessed inputs and, for detectors, the
data samples that carry each image's size); :func:`model_forward` runs one through
the whole network of any OpenMMLab task model (classifier, segmentor, detector).
"""
import argparse
import math
import sys
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence

import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from ..utils.progress import track

UNTRAINED_WARNING = ('untrained model: no checkpoint was given, so the weights are random; '
                     'firing rates, SOPs and energy describe this untrained model, not a '
                     'trained one (FLOPs and parameter counts are exact)')


def warn_untrained(checkpoint: Optional[str], stream=None) -> Optional[str]:
    """Print :data:`UNTRAINED_WARNING` to stderr if ``checkpoint`` is None; return it (or None)."""
    if checkpoint is not None:
        return None
    print(f'WARNING: {UNTRAINED_WARNING}', file=stream or sys.stderr)
    return UNTRAINED_WARNING


@dataclass
class AnalysisBatch:
    """Preprocessed ``inputs`` ``(B, C, H, W)`` and the data samples a detector needs (or None)."""
    inputs: torch.Tensor
    data_samples: Optional[List] = None

    def __len__(self) -> int:
        return len(self.inputs)


def is_detector(model) -> bool:
    """Whether ``model`` is an mmdet detector (its heads need the images' data samples)."""
    try:
        from mmdet.models.detectors import BaseDetector
    except ImportError:  # mmdet not installed: no detector can exist
        return False
    return isinstance(model, BaseDetector)


def random_inputs(model, batch_size: int, height: int, width: int, seed: int = 0) -> AnalysisBatch:
    """A seeded normal ``(batch_size, C, height, width)`` batch (already 'normalised').

    Detectors also get one ``DetDataSample`` per image stating its size, so that the
    RPN and RoI heads run (their proposals depend on the image size).
    """
    gen = torch.Generator().manual_seed(seed)
    in_channels = getattr(getattr(model, 'backbone', None), 'in_channels', 3)
    inputs = torch.randn(batch_size, in_channels, height, width, generator=gen)
    samples = None
    if is_detector(model):
        from mmdet.structures import DetDataSample
        size = (height, width)
        meta = dict(img_shape=size, ori_shape=size, pad_shape=size, batch_input_shape=size,
                    scale_factor=(1.0, 1.0))
        samples = [DetDataSample(metainfo=meta) for _ in range(batch_size)]
    return AnalysisBatch(inputs, samples)


def positive_int(text: str) -> int:
    """``argparse`` type of ``--data N`` and ``--batch-size``: an int of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def dataset_batches(model, cfg, num_images: int, batch_size: Optional[int] = None
                    ) -> Iterator[AnalysisBatch]:
    """Yield preprocessed batches holding the first ``num_images`` images of the val set.

    ``batch_size`` overrides the loader's (``cfg.val_dataloader.batch_size``).

    Raises:
        ValueError: no val/test loader in the config, or ``num_images < 1``.
        FileNotFoundError: the data set cannot be read (names the fix).
    """
    if num_images < 1:
        raise ValueError(f'--data must be at least 1 image, got {num_images}')
    loader_cfg = cfg.get('val_dataloader') or cfg.get('test_dataloader')
    if loader_cfg is None:
        raise ValueError('the config has no val_dataloader/test_dataloader; use --input-size '
                         'with random inputs instead of --data')
    loader_cfg = loader_cfg.copy()
    if batch_size:
        loader_cfg['batch_size'] = batch_size
    try:
        loader = Runner.build_dataloader(loader_cfg)
    except (FileNotFoundError, OSError) as err:
        raise FileNotFoundError(f'cannot read the validation data of this config ({err}); '
                                'fix data_root or generate the demo data with '
                                'tools/misc/make_demo_data.py') from err
    seen = 0
    for data in loader:
        data = model.data_preprocessor(data, False)
        take = num_images - seen
        samples = data.get('data_samples')
        batch = AnalysisBatch(data['inputs'][:take], samples[:take] if samples else None)
        seen += len(batch)
        yield batch
        if seen >= num_images:
            return


def analysis_batches(model, data: Optional[int], input_size: Sequence[int], batch_size: int = 1,
                     description: str = 'analysis'):
    """``data`` images of the config's val set, or one random batch of ``input_size``.

    Data-set batches are wrapped in a progress bar (:func:`mmqsd.utils.progress.track`)
    labelled ``description``, counted in batches of ``batch_size`` images.

    Raises:
        ValueError: ``data`` given but below 1 (``--data 0`` never falls back to random input).
    """
    if data is not None:
        return track(dataset_batches(model, model.cfg, data, batch_size),
                     f'{description}: {data} images in batches of {batch_size}',
                     total=math.ceil(data / batch_size))
    height, width = (list(input_size) * 2)[:2]
    return [random_inputs(model, batch_size, height, width)]


def model_forward(model, batch):
    """Run one batch through the whole network of ``model``; return its raw outputs.

    * mmdet detectors: ``predict`` with the batch's data samples (backbone, neck, RPN
      and RoI heads; the proposals depend on each image);
    * other OpenMMLab models (mmpretrain classifiers, mmseg segmentors):
      ``mode='tensor'`` (backbone, neck and head / decode head);
    * plain modules: ``model(inputs)``.

    ``batch`` is an :class:`AnalysisBatch` or an input tensor.

    Raises:
        ValueError: a detector batch without data samples.
    """
    inputs, samples = (batch.inputs, batch.data_samples) if isinstance(batch, AnalysisBatch) \
        else (batch, None)
    if is_detector(model):
        if samples is None:
            raise ValueError('a detector needs data samples with each image\'s size; build '
                             'the batch with random_inputs() or dataset_batches()')
        return model.predict(inputs, samples)
    if isinstance(model, BaseModel):
        return model(inputs, mode='tensor')
    return model(inputs)
