"""The prediction drawings (mmdet / mmseg visualizers) carry a title and "ground truth" /
"prediction" captions over their two panels."""
import os.path as osp
import runpy

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmqsd.apis import build_model_from_config
from mmqsd.apis.visualization import GT_CAPTION, PRED_CAPTION, add_captions

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _visualizer(kind):
    if kind == 'det':
        from mmdet.visualization import DetLocalVisualizer
        return DetLocalVisualizer(name='test_captions_det')
    from mmseg.visualization import SegLocalVisualizer
    return SegLocalVisualizer(name='test_captions_seg')


@pytest.mark.parametrize('kind', ['det', 'seg'])
def test_captions_sit_over_each_panel(kind):
    visualizer = _visualizer(kind)
    drawing = np.zeros((60, 200, 3), dtype=np.uint8)  # two 100-pixel panels
    out = add_captions(visualizer, drawing, [GT_CAPTION, PRED_CAPTION], 'img.png: title')
    band = out.shape[0] - 60
    assert band >= 40 and out.shape[1] == 200
    assert (out[band:] == 0).all() and (out[:band] != 0).any()  # drawing kept below the band
    texts = {t.get_text(): t.get_position() for t in visualizer.ax_save.texts}
    assert set(texts) == {'img.png: title', GT_CAPTION, PRED_CAPTION}
    assert texts[GT_CAPTION][0] == 50 and texts[PRED_CAPTION][0] == 150
    assert all(y < band for _, y in texts.values())


@pytest.mark.slow
def test_visualize_predictions_captions_the_two_panels(tmp_path):
    from mmqsd.datasets.synthetic_coco import make_synthetic_coco
    config = osp.join(ROOT, 'configs/det/qsd_t_maskrcnn_demo.py')
    root = str(tmp_path / 'demo_coco') + '/'
    make_synthetic_coco(root, num_train=1, num_val=1, size=64)
    options = {'test_dataloader.dataset.data_root': root,
               'test_dataloader.dataset.ann_file': 'annotations/instances_val.json',
               'model.backbone.arch.depths': (1, 1)}
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    ckpt = str(tmp_path / 'det.pth')
    torch.save(dict(state_dict=build_model_from_config(cfg).state_dict(), meta={}), ckpt)
    tool = runpy.run_path(osp.join(ROOT, 'tools/analysis/visualize_predictions.py'),
                          run_name='tool')
    out = tool['visualize'](config, ckpt, str(tmp_path / 'pred.png'), cfg_options=options)
    image = mmcv.imread(out)
    assert image.shape[1] == 2 * 64 and image.shape[0] > 64  # two panels under a caption band
