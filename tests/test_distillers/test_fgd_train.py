"""End to end on the digits demo: train the ANN teacher, then distil the QSD student with
FGD through tools/train.py; loss_fgd decreases and the checkpoint is a plain student one."""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from mmqsd.datasets.demo_data import make_digits

pytestmark = pytest.mark.slow

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs', 'cls')


def train(config, work_dir, data_root, epochs, *options):
    """tools/train.py on 160 digits (10 iterations of 16 per epoch), logging every iteration."""
    cmd = [sys.executable, 'tools/train.py', osp.join(CONFIGS, config), '--work-dir', work_dir,
           '--no-validate', '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
           'train_dataloader.dataset.indices=160', 'train_dataloader.batch_size=16',
           'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
           f'train_cfg.max_epochs={epochs}', 'default_hooks.logger.interval=1', *options]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-5000:]
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip(), proc.stdout + proc.stderr


def logged(work_dir, key):
    (path, ) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    return [row[key] for row in rows if key in row]


def test_fgd_training_decreases_loss_fgd(tmp_path):
    data_root = str(tmp_path / 'demo_digits')
    make_digits(data_root)
    teacher_ckpt, _ = train('ann_t_demo_digits.py', str(tmp_path / 'teacher'), data_root, 1)
    work_dir = str(tmp_path / 'fgd')
    ckpt, log = train('qsd_t_fgd_demo_digits.py', work_dir, data_root, 2,
                      f'model.teacher_ckpt={teacher_ckpt}')
    assert teacher_ckpt in log  # the teacher was loaded from its checkpoint

    fgd = logged(work_dir, 'loss_fgd')
    assert len(fgd) == 20 and all(0 < value <= 2 * 2 ** 0.5 for value in fgd)  # 2 * [0, sqrt 2]
    first, last = sum(fgd[:5]) / 5, sum(fgd[-5:]) / 5
    assert last < 0.9 * first, fgd

    # the distilled checkpoint holds the student only and loads into the plain student config
    state = torch.load(ckpt)['state_dict']
    assert not any(key.startswith(('teacher', 'student.')) for key in state)
    init_default_scope('mmpretrain')
    student = MODELS.build(Config.fromfile(osp.join(CONFIGS, 'qsd_t_demo_digits.py')).model)
    student.load_state_dict(state, strict=True)
