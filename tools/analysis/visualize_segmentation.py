#!/usr/bin/env python
"""Draw a segmentor's prediction into a PNG with mmseg's SegLocalVisualizer.

By default the image is taken from the config's test split and drawn twice,
captioned "ground truth" (left) and "prediction" (right), each region labelled
with its class name (pixels the labels leave unannotated, 255, stay undrawn);
``--img`` draws the prediction on any image file instead.  Example (the segmentation demo)::

    python tools/analysis/visualize_segmentation.py configs/seg/qsd_t_fpn_demo.py \\
        work_dirs/qsd_t_fpn_demo/iter_600.pth --index 0 --scale 3 \\
        --out work_dirs/qsd_t_fpn_demo/prediction.png
"""
import os
import os.path as osp

import mmcv
import torch.nn.functional as F
from mmengine.structures import PixelData

import mmqsd  # noqa: F401  registers mmqsd modules and applies the compat fixes
from mmqsd.apis.visualization import (draw_with_captions, predict_test_image,
                                      visualization_parser)
from mmqsd.utils.checkpoint_file import exit_on_bad_checkpoint

SEG_FIELDS = ('gt_sem_seg', 'pred_sem_seg')


def parse_args(argv=None):
    parser = visualization_parser(__doc__.splitlines()[0], 'segmentor')
    parser.add_argument('--opacity', type=float, default=0.6, help='opacity of the class colours')
    return parser.parse_args(argv)


def resize_label_maps(sample, size) -> None:
    """Resize the label maps of a SegDataSample to ``size`` (nearest; in place)."""
    for field in SEG_FIELDS:
        if field in sample:
            labels = sample.get(field).data
            resized = F.interpolate(labels[None].float(), size=tuple(size), mode='nearest')[0]
            sample.set_data({field: PixelData(data=resized.to(labels.dtype))})


def visualize(config: str, checkpoint: str, out: str, index: int = 0, img: str = None,
              opacity: float = 0.6, scale: float = 1.0, cfg_options: dict = None) -> str:
    """Write the drawing to ``out`` and return its path."""
    from mmseg.apis import inference_model, init_model
    from mmseg.registry import VISUALIZERS

    model = init_model(config, checkpoint, device='cpu', cfg_options=cfg_options)
    if img is None:
        img, sample = predict_test_image(model, model.cfg, index)
    else:
        sample = inference_model(model, img)
    image = mmcv.imread(img, channel_order='rgb')
    if scale != 1.0:
        image = mmcv.imrescale(image, scale, interpolation='nearest')
        resize_label_maps(sample, image.shape[:2])
    visualizer = VISUALIZERS.build(
        dict(type='SegLocalVisualizer', name='mmqsd_segmentation', alpha=opacity))
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    draw_with_captions(visualizer, osp.basename(img), image, sample, out,
                       f'{osp.basename(img)}: class of every pixel',
                       draw_gt='gt_sem_seg' in sample, with_labels=True)
    return out


def main(argv=None):
    args = parse_args(argv)
    exit_on_bad_checkpoint(args.checkpoint)
    out = visualize(args.config, args.checkpoint, args.out, args.index, args.img, args.opacity,
                    args.scale, args.cfg_options)
    print(f'prediction drawn into {out}')


if __name__ == '__main__':
    main()
