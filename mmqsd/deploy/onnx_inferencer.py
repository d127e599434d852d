"""Predictions and test-set metrics of an exported ONNX file, through a config's pipeline.

:class:`ORTInferencer` applies a config's test pipeline and data preprocessor to
images, runs the ONNX file in ONNX Runtime and turns the outputs into
predictions the way mmpretrain's ``ImageClassificationInferencer`` and mmseg's
``MMSegInferencer`` do (the model's own post-processing: mmpretrain's head
``_get_predictions``, mmseg's ``postprocess_result``).  :func:`evaluate_test_set`
runs any ``predict(batch) -> data samples`` over a config's test set with the
config's metric (mmengine ``Evaluator``), so ONNX Runtime and PyTorch are
measured by the same code.
"""
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from ..utils.progress import track
from .onnx_runtime import OnnxModel

#: Test-pipeline transforms that read annotations: left out when predicting images.
ANNOTATION_TRANSFORMS = ('LoadAnnotations', )


def _test_loader_cfg(cfg):
    loader = cfg.test_dataloader.copy()
    loader.update(num_workers=0, persistent_workers=False)  # one process, no worker start-up
    return loader


def evaluate_test_set(cfg, predict: Callable, description: str = 'testing') -> Dict[str, float]:
    """The config's test metric (``cfg.test_evaluator``) of ``predict`` on its test set.

    ``predict(data_batch)`` receives each batch of ``cfg.test_dataloader`` (lists of
    packed inputs and data samples) and returns the predicted data samples, as
    ``model.test_step`` does.
    """
    from mmengine.evaluator import Evaluator
    from mmengine.runner import Runner
    loader = Runner.build_dataloader(_test_loader_cfg(cfg))
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = loader.dataset.metainfo
    for batch in track(loader, description, total=len(loader)):
        evaluator.process(predict(batch), batch)
    return evaluator.evaluate(len(loader.dataset))


def fit_to(inputs: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Pad (zeros, bottom / right) or crop ``(N, C, H, W)`` to ``shape[-2:]``."""
    height, width = shape[-2:]
    inputs = inputs[..., :height, :width]
    return F.pad(inputs, (0, width - inputs.shape[-1], 0, height - inputs.shape[-2]))


def first_test_batch(cfg, data_preprocessor, shape: Sequence[int]) -> Optional[torch.Tensor]:
    """The first batch of the config's test set after its pipeline and preprocessor, fitted
    to ``shape`` (:func:`fit_to`); None if the test data is not on disk."""
    from mmengine.runner import Runner
    try:
        loader = Runner.build_dataloader(_test_loader_cfg(cfg))
    except (FileNotFoundError, OSError):
        return None
    batch = next(iter(loader))
    with torch.no_grad():
        return fit_to(data_preprocessor(batch, False)['inputs'].float(), shape)


class ORTInferencer:
    """Classify / segment images with an exported ONNX file and the config it came from.

    ``config``: the config file (or Config) the file was exported from; its
    model is built only for its data preprocessor and post-processing (no
    weights are used).  ``onnx_file``: written by ``tools/deploy/export_onnx.py``.
    Raises ``ValueError`` if the file was exported for another task, class count
    or input shape (see :meth:`OnnxModel.check`), and for detector files
    (features only: see docs/deployment.md).

    ``inferencer(images)`` takes image paths or ``(H, W, 3)`` BGR uint8 arrays and
    returns one dict per image: classifiers ``pred_label``, ``pred_score``,
    ``pred_scores`` (and ``pred_class`` if the config names classes), as
    mmpretrain's inferencer; segmentors ``predictions`` (an ``(H, W)`` class map
    at the image's size), as mmseg's.  :meth:`predict_batch` returns data samples.
    """

    def __init__(self, config, onnx_file: str, threads: Optional[int] = None,
                 cfg_options: Optional[dict] = None):
        from ..apis import build_model_from_config
        from ..apis.inference import load_config
        from .onnx_export import task_of
        self.cfg = load_config(config, cfg_options)
        self.model = build_model_from_config(self.cfg).eval()
        self.task = task_of(self.model)
        self.session = OnnxModel(onnx_file, threads)
        if self.task == 'detector':
            raise ValueError('a detector file holds backbone + neck features only; run mmdet '
                             "'s heads on them (docs/deployment.md)")
        head = self.model.head if self.task == 'classifier' else self.model.decode_head
        self.session.check(task=self.task, num_classes=head.num_classes)
        self.classes = (self.cfg.get('test_dataloader', {}).get('dataset', {})
                        .get('metainfo', {}) or {}).get('classes')

    def _pipeline(self, from_array: bool):
        from mmengine.dataset import Compose
        steps = [t for t in self.cfg.test_dataloader.dataset.pipeline
                 if t['type'] not in ANNOTATION_TRANSFORMS]
        if from_array:
            steps = [t for t in steps if not t['type'].startswith('LoadImageFrom')]
        return Compose(steps)

    @torch.no_grad()
    def predict_batch(self, data_batch: dict) -> list:
        """Data samples with predictions for a packed batch (``inputs`` / ``data_samples``
        lists, as the config's dataloader yields)."""
        data = self.model.data_preprocessor(data_batch, False)
        inputs, samples = data['inputs'], data['data_samples']
        height, width = inputs.shape[-2:]
        exported = self.session.input_shape[2:]
        if self.task == 'classifier' or height > exported[0] or width > exported[1]:
            # classifiers see exactly the exported size; segmentors are padded up to it
            self.session.check(image_shape=inputs.shape[1:])
        outputs = torch.from_numpy(self.session(fit_to(inputs.float(),
                                                       self.session.input_shape))[0])
        if self.task == 'classifier':
            return self.model.head._get_predictions(outputs, samples)
        pad_h, pad_w = exported[0] - height, exported[1] - width
        for sample in samples:
            left, right, top, bottom = sample.metainfo.get('img_padding_size',
                                                           sample.metainfo.get('padding_size',
                                                                               [0, 0, 0, 0]))
            sample.set_metainfo(dict(img_padding_size=[left, right + pad_w, top,
                                                       bottom + pad_h]))
        return self.model.postprocess_result(outputs, samples)

    def __call__(self, images: Union[str, np.ndarray, Sequence], batch_size: int = 1) -> List[dict]:
        images = [images] if isinstance(images, (str, np.ndarray)) else list(images)
        results = []
        for start in range(0, len(images), batch_size):
            packed = [self._pack(image) for image in images[start:start + batch_size]]
            batch = dict(inputs=[p['inputs'] for p in packed],
                         data_samples=[p['data_samples'] for p in packed])
            results += [self._to_dict(s) for s in self.predict_batch(batch)]
        return results

    def _pack(self, image) -> dict:
        if isinstance(image, str):
            return self._pipeline(False)(dict(img_path=image))
        return self._pipeline(True)(dict(img=image, img_shape=image.shape[:2],
                                         ori_shape=image.shape[:2]))

    def _to_dict(self, sample) -> dict:
        if self.task == 'segmentor':
            return dict(predictions=sample.pred_sem_seg.data[0].cpu().numpy())
        scores = sample.pred_score.cpu().numpy()
        label = int(sample.pred_label[0])
        result = dict(pred_scores=scores, pred_label=label, pred_score=float(scores[label]))
        if self.classes:
            result['pred_class'] = self.classes[label]
        return result
