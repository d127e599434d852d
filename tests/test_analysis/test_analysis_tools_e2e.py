"""End-to-end: a short digits run with FiringRateHook, then energy.py / attention_dist.py on it."""
import json
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import mmqsd  # noqa: F401
from mmqsd.datasets.demo_data import make_digits

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/cls/qsd_t_demo_digits.py')
pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('digits_run')
    data_root = str(tmp / 'digits')
    make_digits(data_root)
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp / 'work')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
        cfg[loader].dataset.indices = 64
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
    cfg.custom_hooks = [dict(type='mmqsd.FiringRateHook', interval=1)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.param_scheduler = []
    runner = Runner.from_cfg(cfg)
    runner.train()
    cfg_path = str(tmp / 'cfg.py')
    cfg.dump(cfg_path)
    return runner, cfg_path, osp.join(cfg.work_dir, 'epoch_1.pth')


def test_firing_rate_hook_logs_train_and_val_rates(trained):
    runner = trained[0]
    scalars = runner.message_hub.log_scalars
    train_keys = [k for k in scalars if k.startswith('train/firing_rate/')]
    val_keys = [k for k in scalars if k.startswith('val/firing_rate/')]
    assert 'train/firing_rate/backbone.stages.0' in train_keys
    assert {'val/firing_rate/backbone.stages.3', 'val/firing_rate/head'} <= set(val_keys)
    for key in train_keys + val_keys:
        assert 0 <= scalars[key].current() <= 4


def test_energy_cli_on_val_images(trained, tmp_path):
    _, cfg_path, ckpt = trained
    out, png = tmp_path / 'energy.json', tmp_path / 'energy.png'
    subprocess.run([sys.executable, 'tools/analysis/energy.py', cfg_path, ckpt, '--data', '4',
                    '--out-json', str(out), '--plot', str(png)], cwd=ROOT, check=True,
                   capture_output=True)
    result = json.loads(out.read_text())
    assert result['num_images'] == 4
    assert result['total_flops'] > result['total_sops'] > 0
    assert result['energy_mj'] > 0 and png.stat().st_size > 10_000
    first = result['layers'][0]
    assert not first['spike_input'] and first['macs'] == first['flops']


def test_attention_dist_cli(trained, tmp_path):
    _, cfg_path, ckpt = trained
    out, png = tmp_path / 'dist.json', tmp_path / 'dist.png'
    subprocess.run([sys.executable, 'tools/analysis/attention_dist.py', cfg_path, ckpt,
                    '--data', '4', '--out', str(png), '--out-json', str(out)], cwd=ROOT,
                   check=True, capture_output=True)
    report = json.loads(out.read_text())
    row = report['backbone.stages.2.1.attn.q']
    assert {'without_mprf', 'with_mprf'} <= set(row)
    assert row['with_mprf']['entropy'] >= 0 and png.stat().st_size > 10_000
