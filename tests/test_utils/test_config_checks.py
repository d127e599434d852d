"""mmqsd.utils.config_checks: wrong configs are refused before the Runner, with the fix.

Each case is an input of issue 14 item 5 (or another of its kind); on the code
before the checks they failed late (after the data sets were built) or inside
torch / mmengine with a message that named neither the key nor the fix.
"""
import copy
import functools
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmqsd.utils import config_checks as checks
from mmqsd.utils.checkpoint_file import CheckpointFileError
from mmqsd.utils import launch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_DEMO = osp.join(ROOT, 'configs', 'det', 'qsd_t_maskrcnn_demo.py')
SEG_DEMO = osp.join(ROOT, 'configs', 'seg', 'qsd_t_fpn_demo.py')
CLS_DEMO = osp.join(ROOT, 'configs', 'cls', 'qsd_t_demo_digits.py')
SEG_SYNC_BN = osp.join(ROOT, 'configs', 'seg', 'qsd_t_fpn_ade20k.py')
DET_PRETRAINED = osp.join(ROOT, 'configs', 'det', 'qsd_t_maskrcnn.py')
WIDE = [32, 64, 128, 192]
requires_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')


@functools.lru_cache(maxsize=None)
def _load(path):
    return Config.fromfile(path)


def config(path, **options):
    """A fresh copy of the config at ``path`` with ``options`` merged (files read once)."""
    cfg = copy.deepcopy(_load(path))
    cfg.merge_from_dict(options)
    return cfg


# --- channels: the backbone widened without the neck / head ------------------------------

@pytest.mark.parametrize('path', [DET_DEMO, SEG_DEMO])
def test_widened_backbone_names_the_neck_key(path):
    cfg = config(path, **{'model.backbone.arch.embed_dims': WIDE})
    with pytest.raises(checks.ConfigError,
                       match=r'model\.neck\.in_channels=\[32, 64, 128, 192\]'):
        checks.check_channels(cfg)
    cfg.merge_from_dict({'model.neck.in_channels': WIDE})
    checks.check_channels(cfg)


def test_out_indices_change_names_the_neck_key():
    cfg = config(DET_DEMO, **{'model.backbone.out_indices': (1, 2, 3)})
    with pytest.raises(checks.ConfigError, match=r'in_channels=\[32, 64, 96\]'):
        checks.check_channels(cfg)


def test_neck_width_names_the_decode_head_key():
    cfg = config(SEG_DEMO, **{'model.neck.out_channels': 48})
    with pytest.raises(checks.ConfigError,
                       match=r'model\.decode_head\.in_channels=\[48, 48, 48, 48\]'):
        checks.check_channels(cfg)


def test_neck_width_names_the_rpn_head_key():
    cfg = config(DET_DEMO, **{'model.neck.out_channels': 48})
    with pytest.raises(checks.ConfigError, match=r'model\.rpn_head\.in_channels=48'):
        checks.check_channels(cfg)


def test_classifier_head_must_match_the_last_stage():
    cfg = config(CLS_DEMO, **{'model.backbone.arch.embed_dims': [16, 32, 64, 128]})
    with pytest.raises(checks.ConfigError, match=r'model\.head\.in_channels=128'):
        checks.check_channels(cfg)


def test_backbone_channels_of_every_mmqsd_backbone():
    arch = dict(embed_dims=[16, 32, 64, 96], num_heads=4, depths=(1, 1))
    for kind in ('QSDTransformer', 'mmqsd.ANNTransformer'):
        assert checks.backbone_out_channels(dict(type=kind, arch=arch, out_indices=(0, 2, 3))) \
            == [16, 64, 96]
    csd = dict(type='mmqsd.CSDformer', arch=dict(depth=2, embed_dims=64, num_heads=4),
               out_indices=(1, 3, -1))
    assert checks.backbone_out_channels(csd) == [16, 64, 64]
    spikformer = dict(type='mmqsd.QSDSpikformer', arch=dict(embed_dims=64, depth=1, num_heads=4))
    assert checks.backbone_out_channels(spikformer) == [64]
    assert checks.backbone_out_channels(dict(type='ResNet', depth=50)) is None


def test_backbone_channels_of_the_largest_backbone():
    assert checks.backbone_out_channels(dict(type='mmqsd.QSDTransformer', arch='L')) == [640]


def test_backbone_arguments_are_checked_before_any_data():
    cfg = config(DET_DEMO, **{'model.backbone.frozen_stages': -2})
    with pytest.raises(ValueError, match='frozen_stages=-2 is out of range'):
        checks.check_channels(cfg)


# --- SyncBN on CPU / gloo ------------------------------------------------------------

@requires_no_cuda
def test_sync_bn_norms_in_a_cpu_distributed_run_are_refused():
    cfg = config(SEG_SYNC_BN, launcher='pytorch', **{'env_cfg.dist_cfg.backend': 'gloo'})
    with pytest.raises(SystemExit, match=r"model\.neck\.norm_cfg\.type.*norm_cfg=dict\(type='BN'\)"
                       r'.*model\.decode_head\.norm_cfg\.type=BN'):
        checks.check_sync_bn(cfg)


def test_sync_bn_with_the_gloo_backend_is_refused_even_with_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = config(SEG_SYNC_BN, launcher='pytorch', **{'env_cfg.dist_cfg.backend': 'gloo'})
    with pytest.raises(SystemExit, match='with the gloo backend'):
        checks.check_sync_bn(cfg)
    cfg.env_cfg.dist_cfg.backend = 'nccl'
    checks.check_sync_bn(cfg)  # GPUs with nccl: fine


def test_sync_bn_without_a_launcher_is_fine():
    """A single process: mmengine's Runner reverts SyncBN to BN."""
    checks.check_sync_bn(config(SEG_SYNC_BN))


# --- model.pretrained (mmseg 0.x / mmdet 2.x) ----------------------------------------

@pytest.mark.parametrize('path', [DET_DEMO, SEG_DEMO])
def test_model_pretrained_points_to_init_cfg(path):
    cfg = config(path, **{'model.pretrained': 'qsd_t.pth'})
    with pytest.raises(checks.ConfigError, match=r"model\.pretrained='qsd_t\.pth' is the mmseg "
                       r".*model\.backbone\.init_cfg=dict\(type='Pretrained', checkpoint=PATH, "
                       r"prefix='backbone\.'\)"):
        checks.check_pretrained_key(cfg)


def test_backbone_pretrained_points_to_its_init_cfg():
    cfg = config(SEG_DEMO, **{'model.backbone.pretrained': 'qsd_t.pth'})
    with pytest.raises(checks.ConfigError, match=r'QSDTransformer does not take.*'
                       r'model\.backbone\.init_cfg=dict'):
        checks.check_pretrained_key(cfg)


def test_model_pretrained_of_an_image_classifier_is_left_alone():
    """mmpretrain's ImageClassifier turns ``pretrained`` into an init_cfg itself."""
    checks.check_pretrained_key(config(CLS_DEMO, **{'model.pretrained': 'qsd_t.pth'}))
    checks.check_pretrained_key(config(SEG_DEMO))  # pretrained=None in mmseg's base


# --- checkpoint files ------------------------------------------------------------------

def test_missing_init_cfg_checkpoint_says_how_to_get_one(tmp_path):
    missing = str(tmp_path / 'qsd_t_in1k.pth')
    cfg = config(DET_PRETRAINED, **{'model.backbone.init_cfg.checkpoint': missing})
    with pytest.raises(FileNotFoundError, match=r'model\.backbone\.init_cfg\.checkpoint: '
                       r".*qsd_t_in1k\.pth' does not exist; .*docs/model_zoo\.md.*qsd2mmqsd\.py"
                       r'.*sdtv2_to_mmqsd\.py.*model\.backbone\.init_cfg=None'):
        checks.check_checkpoint_files(cfg)
    open(missing, 'wb').close()
    with pytest.raises(CheckpointFileError, match=r'qsd_t_in1k\.pth.*empty file'):
        checks.check_checkpoint_files(cfg)
    torch.save({'state_dict': {}}, missing)
    checks.check_checkpoint_files(cfg)
    cfg.model.backbone.init_cfg.checkpoint = 'https://example.org/qsd_t.pth'
    checks.check_checkpoint_files(cfg)  # URLs are mmengine's business


def test_missing_load_from_and_resume_path(tmp_path):
    cfg = Config(dict(load_from=str(tmp_path / 'epoch_3.pth'), resume=True))
    with pytest.raises(FileNotFoundError, match=r"epoch_3\.pth' \(--resume\) does not exist"):
        checks.check_checkpoint_files(cfg)
    cfg.resume = False
    with pytest.raises(FileNotFoundError, match='load_from / the checkpoint argument'):
        checks.check_checkpoint_files(cfg)


def test_missing_teacher_checkpoint(tmp_path):
    cfg = Config(dict(model=dict(type='mmqsd.FGDDistiller', teacher_ckpt=str(tmp_path / 't.pth'))))
    with pytest.raises(FileNotFoundError, match=r'model\.teacher_ckpt: .*train the ANN teacher'):
        checks.check_checkpoint_files(cfg)


def test_build_runner_checks_the_checkpoint_before_the_data(tmp_path):
    """The pre-flight runs before any data set is looked at (its data root is missing too)."""
    cfg = config(DET_PRETRAINED, work_dir=str(tmp_path), launcher='none',
                 **{'model.backbone.init_cfg.checkpoint': str(tmp_path / 'none.pth'),
                    'train_dataloader.dataset.data_root': str(tmp_path / 'no_data')})
    with pytest.raises(FileNotFoundError, match=r'init_cfg\.checkpoint'):
        launch.build_runner(cfg)


def _truncated_checkpoint(path):
    torch.save({'state_dict': {'w': torch.arange(1000.)}}, path)
    with open(path, 'rb+') as f:
        f.truncate(osp.getsize(path) // 2)
    return str(path)


def test_damaged_load_from_is_refused_before_the_run(tmp_path):
    """Existence is not enough: ``load_from`` / ``--resume PATH`` get the file checks too."""
    cfg = Config(dict(load_from=_truncated_checkpoint(tmp_path / 'epoch_3.pth'), resume=True))
    with pytest.raises(CheckpointFileError, match=r'epoch_3\.pth.*truncated'):
        checks.check_checkpoint_files(cfg)


def test_resume_without_a_path_checks_the_latest_checkpoint(tmp_path):
    latest = _truncated_checkpoint(tmp_path / 'epoch_2.pth')
    (tmp_path / 'last_checkpoint').write_text(latest)
    cfg = Config(dict(load_from=None, resume=True, work_dir=str(tmp_path)))
    with pytest.raises(CheckpointFileError, match=r'epoch_2\.pth.*truncated'):
        checks.check_checkpoint_files(cfg)
    torch.save({'state_dict': {}}, latest)
    checks.check_checkpoint_files(cfg)


def test_damaged_teacher_checkpoint(tmp_path):
    teacher = tmp_path / 't.pth'
    teacher.write_bytes(b'<html>404</html>')
    cfg = Config(dict(model=dict(type='mmqsd.FGDDistiller', teacher_ckpt=str(teacher))))
    with pytest.raises(CheckpointFileError, match=r't\.pth.*HTML'):
        checks.check_checkpoint_files(cfg)


@pytest.mark.parametrize('options, message', [
    (['model.backbone.frozen_stages=-2'], r'^error: model\.backbone: frozen_stages=-2'),
    (['load_from={truncated}'], r'^error: .*epoch_1\.pth.*truncated'),
], ids=['backbone-argument', 'damaged-load_from'])
def test_train_tool_ends_in_one_error_line(tmp_path, options, message):
    """Pre-flight failures reach a user of tools/train.py as one line, exit status 1."""
    import re
    import subprocess
    import sys
    truncated = _truncated_checkpoint(tmp_path / 'epoch_1.pth')
    options = [o.format(truncated=truncated) for o in options]
    proc = subprocess.run([sys.executable, 'tools/train.py', DET_DEMO, '--work-dir',
                           str(tmp_path / 'work'), '--cfg-options', *options], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    assert re.search(message, proc.stderr.strip().splitlines()[-1]), proc.stderr[-2000:]


# --- registry scope --------------------------------------------------------------------

def test_unprefixed_mmqsd_model_type_names_the_prefix():
    cfg = config(DET_DEMO, **{'model.backbone.type': 'QSDTransformer'})
    with pytest.raises(checks.ConfigError, match=r"model\.backbone\.type='QSDTransformer' is not "
                       r"in the mmdet scope's model registry.*type='mmqsd\.QSDTransformer'"):
        checks.check_registry_scopes(cfg)


@pytest.mark.parametrize('key, kind', [
    ('train_dataloader.dataset.type', 'SyntheticADEDataset'),
    ('model.decode_head.type', 'SpikingFPNHead'),
    ('model.decode_head.type', 'mmseg.SpikingFPNHead'),
])
def test_unprefixed_types_of_other_registries(key, kind):
    cfg = config(SEG_DEMO, **{key: kind})
    with pytest.raises(checks.ConfigError, match=f"type='mmqsd.{kind.split('.')[-1]}'"):
        checks.check_registry_scopes(cfg)


def test_unprefixed_hook_and_optim_wrapper():
    cfg = config(CLS_DEMO, custom_hooks=[dict(type='FiringRateHook')])
    with pytest.raises(checks.ConfigError, match=r"custom_hooks\.0\.type=.*hook registry"):
        checks.check_registry_scopes(cfg)
    cfg = config(CLS_DEMO, **{'optim_wrapper.type': 'BF16AutocastOptimWrapper'})
    with pytest.raises(checks.ConfigError, match="mmqsd.BF16AutocastOptimWrapper"):
        checks.check_registry_scopes(cfg)
