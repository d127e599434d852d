"""End to end, as `make demo` runs it: synthetic COCO data -> tools/train.py -> tools/test.py
(bbox and segm mAP printed last) -> tools/analysis/visualize_predictions.py (a PNG)."""
import os.path as osp
import re
import runpy

import pytest
from PIL import Image

from mmqsd.datasets.synthetic_coco import make_synthetic_coco

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(ROOT, 'configs', 'det', 'qsd_t_maskrcnn_demo.py')
pytestmark = pytest.mark.slow

# One 2-iteration epoch of the demo detector on 8 training / 4 validation images.
TINY_CONFIG = """
_base_ = [{base!r}]
data_root = {root!r}
loader = dict(batch_size=4, num_workers=0, persistent_workers=False)
train_dataloader = dict(**loader, dataset=dict(data_root=data_root))
val_dataloader = dict(**loader, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, save_best='coco/bbox_mAP'))
"""


def tool_main(relpath):
    """The ``main`` of a script under tools/, run in this process."""
    return runpy.run_path(osp.join(ROOT, relpath), run_name='tool')['main']


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('det_demo')
    root = str(tmp / 'demo_coco') + '/'
    make_synthetic_coco(root, num_train=8, num_val=4)
    config = tmp / 'tiny_det_demo.py'
    config.write_text(TINY_CONFIG.format(base=DEMO_CONFIG, root=root))
    work_dir = str(tmp / 'work')
    tool_main('tools/train.py')([str(config), '--work-dir', work_dir])
    return str(config), work_dir


def test_test_tool_prints_bbox_and_segm_map_last(trained, tmp_path, capsys):
    config, work_dir = trained
    capsys.readouterr()
    tool_main('tools/test.py')([config, osp.join(work_dir, 'epoch_1.pth'),
                                     '--work-dir', str(tmp_path)])
    lines = capsys.readouterr().out.strip().splitlines()
    metrics = dict(line.split(': ') for line in lines[-12:])
    expected = {'coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP', 'coco/segm_mAP_50'}
    assert expected <= set(metrics)
    assert all(re.fullmatch(r'-?\d+\.\d\d', v) for v in metrics.values())


def test_visualization_png(trained, tmp_path):
    config, work_dir = trained
    out = tmp_path / 'pred.png'
    tool_main('tools/analysis/visualize_predictions.py')(
        [config, osp.join(work_dir, 'epoch_1.pth'), '--out', str(out), '--scale', '2',
         '--score-thr', '0.0'])
    image = Image.open(out)
    assert image.format == 'PNG' and image.size[0] == 2 * 2 * 128  # gt | predictions
    assert image.size[1] > 2 * 128  # under a caption band


def test_save_best_run_resumes_tests_and_loads(trained, tmp_path, capsys, load_checkpoints_fresh):
    """Every checkpoint of a save_best run (best_score = the bbox mAP) loads, resumes, tests."""
    config, work_dir = trained
    load_checkpoints_fresh(work_dir, 'best_coco_bbox_mAP_epoch_*.pth')
    tool_main('tools/train.py')([config, '--work-dir', work_dir, '--resume',
                                 '--cfg-options', 'train_cfg.max_epochs=2'])
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))
    best = [p for p in load_checkpoints_fresh(work_dir) if 'best_' in p][-1]
    capsys.readouterr()
    tool_main('tools/test.py')([config, best, '--work-dir', str(tmp_path)])
    assert 'coco/bbox_mAP' in capsys.readouterr().out
