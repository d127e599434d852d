"""Every config under configs/ loads and builds its model; classifiers also run."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image
from mmengine.config import Config
from mmengine.registry import MODELS, TRANSFORMS, DefaultScope

from config_helpers import ROOT, alias_target

# Short aliases build exactly their targets (test_metafiles.py compares the configs).
CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p.split(osp.sep)
                 and alias_target(osp.relpath(p, ROOT)) is None)
CLS_CONFIGS = [p for p in CONFIGS if p.startswith(osp.join(ROOT, 'configs', 'cls', ''))]
BIG_ARCHS = ('M', 'L')


def _rel(path):
    return osp.relpath(path, osp.join(ROOT, 'configs'))


def _is_slow(cfg):
    """Full-size M/L models and detectors/segmentors take seconds to build."""
    model = cfg.model.get('student', cfg.model)  # a distiller's student sets the size
    arch = model.get('backbone', {}).get('arch')
    return arch in BIG_ARCHS or cfg.default_scope != 'mmpretrain'


def _params(paths):
    for path in paths:
        try:
            slow = _is_slow(Config.fromfile(path))
        except Exception:  # a broken config must fail its test, not the collection
            slow = False
        yield pytest.param(path, id=_rel(path), marks=[pytest.mark.slow] if slow else [])


def _build(cfg):
    """Build ``cfg.model`` as the Runner would (data_preprocessor merged in).

    A distiller's teacher checkpoint is a training artefact, not part of the
    config, so it is left out here; the teacher keeps its initial weights.
    """
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    if model_cfg.get('teacher_ckpt') is not None:
        model_cfg.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(model_cfg)


def test_configs_found():
    assert any(_rel(p) == 'cls/qsd-mini_1xb32-adamw-30e_demo-digits.py' for p in CONFIGS)
    assert len([p for p in CONFIGS if 'ablations' in p]) >= 10


@pytest.mark.parametrize('path', list(_params(CONFIGS)))
def test_config_builds(path):
    """Every config builds; image classifiers also map images to finite logits."""
    cfg = Config.fromfile(path)
    assert 'mmqsd' in cfg.custom_imports['imports']
    model = _build(cfg).eval()
    assert sum(p.numel() for p in model.parameters()) > 0
    if cfg.model.type != 'ImageClassifier':
        return
    num_classes = cfg.model.head.num_classes
    assert cfg.data_preprocessor.num_classes == num_classes
    with torch.no_grad():
        logits = model(torch.rand(2, 3, 32, 32), mode='tensor')
    assert logits.shape == (2, num_classes) and torch.isfinite(logits).all()


def _pipelines(cfg):
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        yield name, cfg[name].dataset.pipeline


@pytest.mark.parametrize('path', [p for p in CLS_CONFIGS if '/ablations/' not in p], ids=_rel)
def test_config_pipelines_run_on_an_image(path, tmp_path):
    cfg = Config.fromfile(path)
    image = tmp_path / 'image.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 260, 3), np.uint8)).save(image)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        for name, pipeline in _pipelines(cfg):
            results = dict(img_path=str(image), gt_label=1)
            for transform in pipeline:
                results = TRANSFORMS.build(transform)(results)
            crop = next((t.get('scale') or t.get('crop_size')
                         for t in pipeline if 'Crop' in t.type), None)
            assert results['inputs'].shape[0] == 3, name
            if crop is not None:
                assert tuple(results['inputs'].shape[1:]) == (crop, crop), name


def test_imagenet_schedule_follows_paper_table8():
    cfg = Config.fromfile(osp.join(ROOT, 'configs/cls/qsd-t_8xb196-lamb-300e_in1k.py'))
    assert cfg.optim_wrapper.optimizer.type == 'Lamb'
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(6e-4 * 1568 / 256)
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 1568
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 10)
    assert (cosine.type, cosine.begin, cosine.end) == ('CosineAnnealingLR', 10, 300)
    assert cfg.train_cfg.max_epochs == 300
    assert cfg.model.head.loss.label_smooth_val == 0.1
