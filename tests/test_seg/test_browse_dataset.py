"""mmseg's browse_dataset on the demo segmentation data (docs/segmentation.md).

mmseg's ``tools/analysis_tools/browse_dataset.py`` is not in its pip package; this does
what it does: build the training dataset of a config, build the config's visualizer and
draw each sample's ground truth, with its class names in boxes, via ``add_datasample``.
The image it draws on is a channel-flipped, non-contiguous view, on which mmseg 1.2.2's
``cv2.rectangle`` call fails with every OpenCV release that supports numpy 2
(mmsegmentation issue #3405); ``mmqsd.utils.compat.contiguous_seg_drawing`` fixes that.
"""
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, VISUALIZERS
from mmseg.visualization import SegLocalVisualizer

from mmqsd.datasets import make_synthetic_ade

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'seg', 'qsd_t_fpn_demo.py')


def test_opencv_is_a_version_the_openmmlab_stack_supports():
    assert int(cv2.__version__.split('.')[0]) == 4, (
        f'OpenCV {cv2.__version__}: mmcv 2.1 / mmdet 3.3 / mmseg 1.2 need 4.x '
        '(requirements/runtime.txt; rerun `make install`)')


@pytest.fixture(scope='module')
def dataset_and_visualizer(tmp_path_factory):
    data_root = str(tmp_path_factory.mktemp('data') / 'demo_ade')
    make_synthetic_ade(data_root, num_train=3, num_val=1, size=64)
    cfg = Config.fromfile(CONFIG)
    cfg.train_dataloader.dataset.data_root = data_root
    init_default_scope(cfg.default_scope)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo
    return dataset, visualizer


def test_browse_dataset_draws_every_sample(dataset_and_visualizer, tmp_path):
    dataset, visualizer = dataset_and_visualizer
    assert len(dataset) == 3
    for i, item in enumerate(dataset):
        img = _browse_image(item)
        sample = item['data_samples'].numpy()
        out_file = str(tmp_path / f'{i}.png')
        visualizer.add_datasample(osp.basename(sample.img_path), img, sample, draw_gt=True,
                                  draw_pred=False, show=False, out_file=out_file)
        drawn = mmcv.imread(out_file, channel_order='rgb')
        assert drawn.shape == img.shape
        # the ground truth is overlaid: the drawing differs from the input image
        assert np.abs(drawn.astype(int) - img.astype(int)).mean() > 1


def _browse_image(item):
    """The image browse_dataset draws on: CHW tensor -> HWC, BGR -> RGB (not contiguous)."""
    return item['inputs'].permute(1, 2, 0).numpy()[..., [2, 1, 0]]


def test_unpatched_mmseg_drawing_fails_on_that_image(dataset_and_visualizer):
    """What compat fixes: mmseg's own _draw_sem_seg on browse_dataset's image."""
    dataset, visualizer = dataset_and_visualizer
    item = dataset[0]
    image = _browse_image(item)
    assert not image.flags['C_CONTIGUOUS']
    draw = SegLocalVisualizer._draw_sem_seg
    assert draw.mmqsd_contiguous  # installed by `import mmqsd`
    sample = item['data_samples'].numpy()
    args = (sample.gt_sem_seg, dataset.metainfo['classes'], dataset.metainfo['palette'])
    with pytest.raises(cv2.error, match='Layout of the output array'):
        draw.__wrapped__(visualizer, image, *args, with_labels=True)
    fixed = draw(visualizer, image, *args, with_labels=True)
    unlabelled = draw(visualizer, image, *args, with_labels=False)
    assert (fixed != unlabelled).any()  # the class names were drawn
