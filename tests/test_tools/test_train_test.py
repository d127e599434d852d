"""End to end: tools/train.py, tools/test.py on its checkpoint, then --resume."""
import os
import os.path as osp
import re

import pytest
import torch

pytestmark = pytest.mark.slow


def _train_epochs(log):
    return sorted({int(e) for e in re.findall(r'Epoch\(train\)\s+\[(\d+)\]', log)})


@pytest.fixture(scope='module')
def trained(tiny_config, tmp_path_factory, run_tool):
    work_dir = str(tmp_path_factory.mktemp('work'))
    proc = run_tool('tools/train.py', tiny_config, '--work-dir', work_dir)
    return work_dir, proc.stdout + proc.stderr


def test_train_saves_a_checkpoint(trained):
    work_dir, log = trained
    assert _train_epochs(log) == [1]
    assert 'accuracy/top1' in log  # validation ran
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(work_dir, 'epoch_1.pth')


def test_test_prints_the_metric_last(trained, tiny_config, tmp_path, run_tool):
    work_dir, _ = trained
    out = tmp_path / 'preds.pkl'
    proc = run_tool('tools/test.py', tiny_config, osp.join(work_dir, 'epoch_1.pth'),
                    '--work-dir', str(tmp_path), '--out', str(out))
    last = proc.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r'accuracy/top1: \d+\.\d\d', last), last
    assert 0 <= float(last.split()[-1]) <= 100
    assert out.is_file()


def test_resume_continues_from_the_saved_epoch(trained, tiny_config, run_tool):
    work_dir, _ = trained
    proc = run_tool('tools/train.py', tiny_config, '--work-dir', work_dir, '--resume',
                    '--cfg-options', 'train_cfg.max_epochs=2')
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 1' in log
    assert _train_epochs(log) == [2]
    assert torch.load(osp.join(work_dir, 'epoch_2.pth'))['meta']['epoch'] == 2


def test_training_checkpoint_needs_the_compat_fix(trained, run_tool):
    """Plain torch.load (weights_only=True) refuses it; with mmqsd imported it loads."""
    with open(osp.join(trained[0], 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    proc = run_tool('-c', f'import torch; torch.load({ckpt!r})', check=False)
    assert proc.returncode != 0 and 'Weights only load failed' in proc.stderr
    assert 'message_hub' in torch.load(ckpt)  # this process imported mmqsd


def test_every_checkpoint_of_a_save_best_run_loads(trained, load_checkpoints_fresh):
    """save_best records best_score (a metric value) in every later checkpoint."""
    work_dir, _ = trained
    assert len(load_checkpoints_fresh(work_dir, 'best_accuracy_top1_epoch_*.pth')) == 1
    load_checkpoints_fresh(work_dir)


def test_test_on_the_best_checkpoint(trained, tiny_config, tmp_path, run_tool):
    best, = [p for p in os.listdir(trained[0]) if p.startswith('best_')]
    proc = run_tool('tools/test.py', tiny_config, osp.join(trained[0], best),
                    '--work-dir', str(tmp_path))
    assert re.fullmatch(r'accuracy/top1: \d+\.\d\d', proc.stdout.strip().splitlines()[-1])
