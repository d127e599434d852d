"""Every detection config builds, has a consistent pyramid, and encodes the paper's recipe."""
import functools
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmqsd.analysis import model_size
from mmqsd.apis import build_model_from_config


def is_teacher_or_distiller(name: str) -> bool:
    """An ANN teacher (``..._ann-qsd-t_...``) or FGD distiller (``..._fgd_...``) config name."""
    return '_ann-' in name or '_fgd_' in name


ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_DIR = osp.join(ROOT, 'configs', 'det')
# QSD models only: the ANN teachers and FGD distillers (``*_ann-qsd-*``, ``*_fgd_*``) are
# built by tests/test_configs/test_configs.py, which also handles the teacher checkpoint.
DET_CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(DET_DIR, '*.py'))
                     if not is_teacher_or_distiller(osp.basename(p)))
COCO = {'T': 'mask-rcnn_qsd-t_spiking-fpn_4xb3-24e_coco.py',
        'M': 'mask-rcnn_qsd-m_spiking-fpn_4xb3-24e_coco.py'}
ALIASES = {'qsd_t_maskrcnn.py': COCO['T'], 'qsd_m_maskrcnn.py': COCO['M']}

# Measured with mmqsd.analysis.model_size (docs/detection.md; the paper's Table 2
# lists 16.9M / 34.9M without saying how it counts).
EXPECTED_SIZES = {
    'T': dict(params=34_881_368, params_32bit_equiv_with_fp=19_812_804,
              params_32bit_equiv=2_152_652),
    'M': dict(params=51_079_152, params_32bit_equiv_with_fp=21_882_390,
              params_32bit_equiv=4_170_966),
}


@functools.lru_cache(maxsize=None)
def load(name):
    """The parsed config (cached: parsing resolves mmdet:: bases; treat it as read-only)."""
    return Config.fromfile(osp.join(DET_DIR, name))


def test_expected_configs_exist():
    assert set(COCO.values()) | set(ALIASES) | {'qsd_t_maskrcnn_demo.py'} <= set(DET_CONFIGS)


@pytest.mark.parametrize('alias,target', sorted(ALIASES.items()))
def test_short_names_are_aliases(alias, target):
    assert load(alias).model == load(target).model
    assert load(alias).optim_wrapper == load(target).optim_wrapper


@pytest.mark.parametrize(
    'name', [pytest.param(n, marks=[] if 'demo' in n else [pytest.mark.slow])
             for n in DET_CONFIGS])
def test_config_builds_with_a_consistent_pyramid(name):
    cfg = load(name)
    assert 'mmqsd' in cfg.custom_imports['imports'] and cfg.default_scope == 'mmdet'
    model = build_model_from_config(cfg)
    backbone, neck = model.backbone, model.neck
    assert type(backbone).__name__ == 'QSDTransformer' and type(neck).__name__ == 'SpikingFPN'
    strides = [backbone.stage_strides[i] for i in backbone.out_indices]
    assert strides == [4, 8, 16, 32]
    assert neck.in_channels == [backbone.embed_dims[i] for i in backbone.out_indices]
    anchor_strides = [s[0] for s in model.rpn_head.prior_generator.strides]
    assert anchor_strides == strides + [64] and neck.num_outs == len(anchor_strides)
    for extractor in (model.roi_head.bbox_roi_extractor, model.roi_head.mask_roi_extractor):
        assert extractor.featmap_strides == strides
        assert extractor.out_channels == neck.out_channels


@pytest.mark.parametrize('arch', sorted(COCO))
def test_paper_recipe(arch):
    """QSD Appendix G.2: 1333x800, flip, AdamW 1e-4, poly 0.9, 24 epochs, batch 12, IN-1k init."""
    cfg = load(COCO[arch])
    assert cfg.model.backbone.arch == arch and cfg.model.backbone.weight_bits == 4
    init = cfg.model.backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    assert init.checkpoint == f'data/checkpoints/qsd_{arch.lower()}_in1k.pth'
    steps = {t['type']: t for t in cfg.train_pipeline}
    assert steps['Resize']['scale'] == (1333, 800) and steps['RandomFlip']['prob'] == 0.5
    assert cfg.optim_wrapper.optimizer.type == 'AdamW' and cfg.optim_wrapper.optimizer.lr == 1e-4
    poly = [s for s in cfg.param_scheduler if s.type == 'PolyLR']
    assert len(poly) == 1 and poly[0].power == 0.9 and poly[0].end == 24
    assert cfg.train_cfg.max_epochs == 24
    assert cfg.train_dataloader.batch_size * 4 == cfg.auto_scale_lr.base_batch_size == 12


def test_demo_config_fits_the_synthetic_data():
    cfg = load('qsd_t_maskrcnn_demo.py')
    assert cfg.model.backbone.init_cfg is None  # trains from scratch on CPU
    classes = cfg.train_dataloader.dataset.metainfo['classes']
    assert len(classes) == cfg.model.roi_head.bbox_head.num_classes == 3
    assert set(cfg.val_evaluator.metric) == {'bbox', 'segm'}


@pytest.mark.slow
@pytest.mark.parametrize('arch', sorted(COCO))
def test_detector_sizes(arch):
    size = model_size(build_model_from_config(osp.join(DET_DIR, COCO[arch])))
    assert {k: size[k] for k in EXPECTED_SIZES[arch]} == EXPECTED_SIZES[arch]
