#!/usr/bin/env python
"""Draw a detector's predictions (boxes, masks, labels) into a PNG with mmdet's DetLocalVisualizer.

By default the image is taken from the config's test split and drawn twice,
captioned "ground truth" (left) and "prediction" (right), under a title naming
the image and the score threshold; ``--img`` draws the predictions on any image
file instead.  Example (the detection demo)::

    python tools/analysis/visualize_predictions.py configs/det/qsd_t_maskrcnn_demo.py \\
        work_dirs/qsd_t_maskrcnn_demo/epoch_12.pth --index 0 --scale 3 \\
        --out work_dirs/qsd_t_maskrcnn_demo/predictions.png
"""
import os
import os.path as osp

import mmcv
import torch
import torch.nn.functional as F

import mmqsd  # noqa: F401  registers mmqsd modules and applies the compat fixes
from mmqsd.apis.visualization import (draw_with_captions, predict_test_image,
                                      visualization_parser)
from mmqsd.utils.checkpoint_file import exit_on_bad_checkpoint


def parse_args(argv=None):
    parser = visualization_parser(__doc__.splitlines()[0], 'detector')
    parser.add_argument('--score-thr', type=float, default=0.3, help='lowest score drawn')
    return parser.parse_args(argv)


def _rescale_instances(instances, factor: float):
    """Enlarge boxes and masks of an InstanceData by ``factor`` (in place)."""
    if 'bboxes' in instances:
        instances.bboxes = instances.bboxes * factor
    if 'masks' in instances:
        masks = instances.masks
        if isinstance(masks, torch.Tensor):
            size = [round(s * factor) for s in masks.shape[-2:]]
            instances.masks = F.interpolate(masks[None].float(), size=size)[0].bool()
        else:  # mmdet BitmapMasks / PolygonMasks
            instances.masks = masks.rescale(factor)


def visualize(config: str, checkpoint: str, out: str, index: int = 0, img: str = None,
              score_thr: float = 0.3, scale: float = 1.0, cfg_options: dict = None) -> str:
    """Write the drawing to ``out`` and return its path."""
    from mmdet.apis import inference_detector, init_detector
    from mmdet.registry import VISUALIZERS

    model = init_detector(config, checkpoint, device='cpu', cfg_options=cfg_options)
    if img is None:
        img, sample = predict_test_image(model, model.cfg, index)
    else:
        sample = inference_detector(model, img)
    image = mmcv.imread(img, channel_order='rgb')
    if scale != 1.0:
        image = mmcv.imrescale(image, scale)
        for field in ('gt_instances', 'pred_instances'):
            if field in sample:
                _rescale_instances(sample.get(field), scale)
    visualizer = VISUALIZERS.build(dict(type='DetLocalVisualizer', name='mmqsd_predictions'))
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    draw_with_captions(visualizer, osp.basename(img), image, sample, out,
                       f'{osp.basename(img)}: boxes and masks with score >= {score_thr:g}',
                       draw_gt='gt_instances' in sample, pred_score_thr=score_thr)
    return out


def main(argv=None):
    args = parse_args(argv)
    exit_on_bad_checkpoint(args.checkpoint)
    out = visualize(args.config, args.checkpoint, args.out, args.index, args.img,
                    args.score_thr, args.scale, args.cfg_options)
    print(f'predictions drawn into {out}')


if __name__ == '__main__':
    main()
