"""End to end on generated ADE20K-layout data: tools/train.py, tools/test.py (mIoU) and
tools/analysis/visualize_segmentation.py on the demo config, shrunk to a few iterations."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from mmqsd.datasets import make_synthetic_ade

pytestmark = pytest.mark.slow

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_DEMO = """
_base_ = [{base!r}]
loader = dict(batch_size=2, num_workers=0, persistent_workers=False)
train_dataloader = dict(**loader, dataset=dict(data_root={root!r}))
val_dataloader = dict(**loader, dataset=dict(data_root={root!r}))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=4, val_interval=4)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=4, save_best='mIoU'))
"""


def run(*args):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, 'OMP_NUM_THREADS': '1'}, timeout=600)
    assert proc.returncode == 0, f'{args} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}'
    return proc.stdout


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'demo_ade')
    make_synthetic_ade(root, num_train=4, num_val=2, size=64)
    config = tmp_path_factory.mktemp('configs') / 'tiny_seg_demo.py'
    config.write_text(TINY_DEMO.format(base=osp.join(ROOT, 'configs', 'seg', 'qsd_t_fpn_demo.py'),
                                       root=root))
    work_dir = str(tmp_path_factory.mktemp('work'))
    run('tools/train.py', str(config), '--work-dir', work_dir)
    return str(config), osp.join(work_dir, 'iter_4.pth'), work_dir


def test_test_prints_miou(trained, tmp_path):
    config, checkpoint, _ = trained
    out = run('tools/test.py', config, checkpoint, '--work-dir', str(tmp_path))
    miou = re.search(r'^mIoU: (\d+\.\d+)$', out, re.M)
    assert miou and 0 <= float(miou.group(1)) <= 100


def test_visualisation_png(trained, tmp_path):
    from PIL import Image
    config, checkpoint, _ = trained
    png = str(tmp_path / 'vis' / 'prediction.png')
    run('tools/analysis/visualize_segmentation.py', config, checkpoint, '--index', '1',
        '--scale', '2', '--out', png)
    width, height = Image.open(png).size
    assert width == 2 * 2 * 64 and height > 2 * 64  # ground truth | prediction, under captions


def test_save_best_run_resumes_tests_and_loads(trained, tmp_path, load_checkpoints_fresh):
    """mmseg's mIoU is a numpy float32: save_best stores it as best_score in every checkpoint
    from then on, and each of them must load, resume and test."""
    config, _, work_dir = trained
    load_checkpoints_fresh(work_dir, 'best_mIoU_iter_*.pth')
    log = run('tools/train.py', config, '--work-dir', work_dir, '--resume',
              '--cfg-options', 'train_cfg.max_iters=5')
    assert osp.isfile(osp.join(work_dir, 'iter_5.pth')), log[-2000:]
    best = [p for p in load_checkpoints_fresh(work_dir) if 'best_' in p][-1]
    assert re.search(r'^mIoU: \d+\.\d+$', run('tools/test.py', config, best, '--work-dir',
                                                 str(tmp_path)), re.M)
