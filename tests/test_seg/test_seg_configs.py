"""Every segmentation config builds, has a consistent pyramid, and encodes the paper's recipe."""
import functools
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmqsd.analysis import model_size
from mmqsd.apis import build_model_from_config
from mmqsd.layers import IELIF, QuantConv2d


def is_teacher_or_distiller(name: str) -> bool:
    """An ANN teacher (``..._ann-qsd-t_...``) or FGD distiller (``..._fgd_...``) config name."""
    return '_ann-' in name or '_fgd_' in name


ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEG_DIR = osp.join(ROOT, 'configs', 'seg')
# QSD models only: the ANN teachers and FGD distillers (``*_ann-qsd-*``, ``*_fgd_*``) are
# built by tests/test_configs/test_configs.py, which also handles the teacher checkpoint.
SEG_CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(SEG_DIR, '*.py'))
                     if not is_teacher_or_distiller(osp.basename(p)))
ADE = {'T': 'fpn_qsd-t_4xb5-160k_ade20k-512x512.py', 'M': 'fpn_qsd-m_4xb5-160k_ade20k-512x512.py'}
ALIASES = {'qsd_t_fpn_ade20k.py': ADE['T'], 'qsd_m_fpn_ade20k.py': ADE['M']}
DEMO = 'qsd_t_fpn_demo.py'

# Measured with mmqsd.analysis.model_size (docs/segmentation.md).  The paper's
# Table 3 lists 3.3M / 9.6M; `fp_neck_head` is the closest convention (4-bit
# backbone at b/32, the authors' full-precision neck and head at full size).
EXPECTED_SIZES = {
    'T': dict(params=16_519_806, params_32bit_equiv_with_fp=2_172_458,
              params_32bit_equiv=2_052_364, fp_neck_head=3_696_618),
    'M': dict(params=37_712_022, params_32bit_equiv_with_fp=4_873_788,
              params_32bit_equiv=4_696_662, fp_neck_head=10_837_692),
}
FULL_PRECISION_NECK_HEAD = {'model.neck.weight_bits': None, 'model.decode_head.weight_bits': None,
                            'model.decode_head.cls_weight_bits': None}


@functools.lru_cache(maxsize=None)
def load(name):
    """The parsed config (cached: resolving `mmseg::` bases takes seconds; do not mutate)."""
    return Config.fromfile(osp.join(SEG_DIR, name))


def test_expected_configs_exist():
    assert set(ADE.values()) | set(ALIASES) | {DEMO} <= set(SEG_CONFIGS)


@pytest.mark.parametrize('alias,target', sorted(ALIASES.items()))
def test_short_names_are_aliases(alias, target):
    for key in ('model', 'optim_wrapper', 'param_scheduler', 'train_dataloader', 'train_cfg'):
        assert load(alias)[key] == load(target)[key]


@pytest.mark.parametrize('arch', sorted(ADE))
def test_paper_recipe(arch):
    """Appendix G.3: 512x512, AdamW 1e-4, 1500 warm-up iters, poly 0.9, 160k iters, batch 20."""
    cfg = load(ADE[arch])
    assert cfg.default_scope == 'mmseg' and 'mmqsd' in cfg.custom_imports['imports']
    assert cfg.model.data_preprocessor.size == (512, 512)
    crop = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'RandomCrop']
    assert crop[0].crop_size == (512, 512)
    assert cfg.train_dataloader.dataset.type == 'ADE20KDataset'
    assert cfg.model.decode_head.num_classes == 150
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.type == 'AdamW' and optimizer.lr == 1e-4
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end, warmup.by_epoch) == ('LinearLR', 0, 1500, False)
    assert (poly.type, poly.power, poly.begin, poly.end) == ('PolyLR', 0.9, 1500, 160000)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == 160000
    assert cfg.auto_scale_lr.base_batch_size == 20 == 4 * cfg.train_dataloader.batch_size
    init = cfg.model.backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    assert init.checkpoint == f'data/checkpoints/qsd_{arch.lower()}_in1k.pth'


def check_spiking_pyramid(model):
    backbone, neck, head = model.backbone, model.neck, model.decode_head
    strides = [backbone.stage_strides[i] for i in backbone.out_indices]
    assert strides == head.feature_strides == [4, 8, 16, 32]
    assert neck.in_channels == [backbone.embed_dims[i] for i in backbone.out_indices]
    assert head.in_channels == [neck.out_channels] * 4
    # spike-driven up to the classifier: every neck/head conv is fed by an IE-LIF
    for part in (neck, head):
        convs = [m for m in part.modules() if isinstance(m, QuantConv2d)]
        neurons = [m for m in part.modules() if isinstance(m, IELIF)]
        assert len(convs) == len(neurons) and convs
    assert head.conv_seg.weight_bits == 8


@pytest.mark.parametrize(
    'name', [pytest.param(n, marks=[] if n == DEMO else [pytest.mark.slow]) for n in SEG_CONFIGS])
def test_config_builds_with_a_consistent_pyramid(name):
    model = build_model_from_config(load(name))
    assert type(model).__name__ == 'EncoderDecoder'
    check_spiking_pyramid(model)


@pytest.mark.slow
@pytest.mark.parametrize('arch', sorted(ADE))
def test_parameter_counts(arch):
    expected = dict(EXPECTED_SIZES[arch])
    fp_neck_head = expected.pop('fp_neck_head')
    size = model_size(build_model_from_config(load(ADE[arch])))
    assert {k: size[k] for k in expected} == expected
    authors_style = build_model_from_config(load(ADE[arch]), FULL_PRECISION_NECK_HEAD)
    assert model_size(authors_style)['params_32bit_equiv_with_fp'] == fp_neck_head
