"""configs/transfer: the paper's recipes, the ImageNet checkpoint with a new head, short runs."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

import mmqsd  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The OpenMMLab-named configs; the short names (qsd_t_cifar10_ft.py, ...) are one-line aliases.
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs/transfer/qsd-*.py')))
TINY = dict(embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4, depths=(1, 1))


def _cfg(name):
    return Config.fromfile(osp.join(ROOT, 'configs/transfer', name))


def test_every_config_loads_with_its_recipe():
    assert len(CONFIGS) == 10
    for path in CONFIGS:
        cfg, name = Config.fromfile(path), osp.basename(path)
        size = 'L' if name.startswith('qsd-l') else 'T'
        assert cfg.model.backbone.arch == size
        assert cfg.model.head.in_channels == (640 if size == 'L' else 360)
        classes = 100 if 'cifar100' in name else 10
        assert cfg.model.head.num_classes == cfg.data_preprocessor.num_classes == classes
        optim = cfg.optim_wrapper.optimizer
        assert cfg.train_cfg.max_epochs == 100
        if '_in1k-pre_' not in name:  # from scratch: Table 8, CIFAR column
            assert (optim.type, optim.lr, optim.weight_decay) == ('Lamb', 6e-4, 0.05)
            assert cfg.train_dataloader.batch_size == 256 and 'init_cfg' not in cfg.model.backbone
            assert cfg.model.head.loss.type == 'CrossEntropyLoss'
        else:  # Appendix G.4: fine-tuning from the ImageNet checkpoint
            assert (optim.type, optim.lr, optim.weight_decay) == ('AdamW', 1e-4, 0.01)
            assert cfg.train_dataloader.batch_size == 128
            init = cfg.model.backbone.init_cfg
            assert init.prefix == 'backbone.'
            assert init.checkpoint.endswith(f'qsd_{size.lower()}_in1k.pth')
            assert cfg.model.head.loss.type == 'LabelSmoothLoss'
        augments = [a.type for a in cfg.data_preprocessor.batch_augments.augments]
        assert augments == ['Mixup', 'CutMix']


@pytest.mark.parametrize('name', ['qsd_t_cifar10dvs_t10.py', 'qsd_l_cifar10dvs_t10.py'])
def test_dvs_configs_match_frames_and_backbone(name):
    cfg = _cfg(name)
    load = cfg.train_dataloader.dataset.pipeline[0]
    assert load.type == 'mmqsd.LoadEventFrames' and load.num_frames == 10
    assert cfg.model.backbone.time_steps == load.num_frames
    assert cfg.model.backbone.in_channels == len(load.channels) == 3
    assert cfg.data_preprocessor.type == 'mmqsd.EventFramePreprocessor'
    assert cfg.train_dataloader.dataset.train_ratio == cfg.val_dataloader.dataset.train_ratio == 0.9


def test_finetuning_loads_the_backbone_and_replaces_the_1000_way_head(tmp_path):
    cfg = _cfg('qsd_t_cifar10_ft.py')
    cfg.model.backbone.arch, cfg.model.head.in_channels = TINY, 96
    imagenet = copy.deepcopy(cfg.model)
    imagenet.backbone.init_cfg, imagenet.head.num_classes = None, 1000
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        source = MODELS.build(imagenet)
    ckpt = str(tmp_path / 'qsd_tiny_in1k.pth')
    torch.save(dict(state_dict=source.state_dict(), meta=dict()), ckpt)

    cfg.model.backbone.init_cfg.checkpoint = ckpt
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    for key, value in source.backbone.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[key], value), key
    assert model.head.fc.weight.shape == (10, 96)  # the 10-way head keeps its own init


def _shrink(cfg, work_dir, data_root):
    cfg.model.backbone.arch, cfg.model.head.in_channels = TINY, 96
    cfg.model.backbone.init_cfg = None
    cfg.work_dir = work_dir
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(batch_size=4, num_workers=0, persistent_workers=False)
        cfg[loader].dataset.data_root = data_root
    cfg.train_cfg = dict(by_epoch=False, max_iters=2, val_interval=2)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False)
    cfg.val_dataloader.dataset.indices = 4
    return cfg


def _train(cfg):
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss))
    return runner


@pytest.mark.slow
def test_short_cifar_finetuning_run(tmp_path, cifar10_root):
    cfg = _shrink(_cfg('qsd_t_cifar10_ft.py'), str(tmp_path / 'work'), cifar10_root)
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.type = 'mmqsd.SyntheticCIFAR10'
        for step in cfg[loader].dataset.pipeline:
            if step.type == 'Resize':
                step.scale = (32, 32)  # tiny inputs; the config's recipe is 128x128
    runner = _train(cfg)
    assert runner.model.head.fc.weight.shape == (10, 96)


@pytest.mark.slow
def test_short_cifar10dvs_run_with_10_frames(tmp_path, dvs_root):
    cfg = _shrink(_cfg('qsd_t_cifar10dvs_t10.py'), str(tmp_path / 'work'), dvs_root)
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.pipeline[1].size = 32
    seen = []
    runner = Runner.from_cfg(cfg)
    runner.model.backbone.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape))
    runner.train()
    assert seen[0] == (4, 10, 3, 32, 32)  # (B, T, C, H, W) frames reach the backbone
