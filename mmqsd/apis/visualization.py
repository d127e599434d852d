"""Shared pieces of the prediction drawings: the ``visualize_*`` tools and ``tools/test.py
--show-dir``.

The drawing itself is the task library's visualizer (mmdet ``DetLocalVisualizer``,
mmseg ``SegLocalVisualizer``, mmpretrain ``UniversalVisualizer``); this module adds
captions ("ground truth" / "prediction") to its side-by-side drawing and switches on
the task's visualization hook for ``tools/test.py`` as the libraries' own
``tools/test.py`` do.
"""
import argparse
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import DATASETS, init_default_scope

GT_CAPTION = 'ground truth'
PRED_CAPTION = 'prediction'


def visualization_parser(description: str, task_model: str) -> argparse.ArgumentParser:
    """The command line shared by ``tools/analysis/visualize_*.py``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help=f'{task_model} config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='PNG file to write')
    parser.add_argument('--index', type=int, default=0, help='image of the test split to draw')
    parser.add_argument('--img', help='draw the prediction on this image file instead')
    parser.add_argument('--scale', type=float, default=1.0,
                        help='enlarge the drawing (small demo images: 3 or 4)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config entries')
    return parser


def predict_test_image(model, cfg, index: int):
    """Run ``model`` on test image ``index`` of ``cfg``; return ``(image path, data sample)``.

    The data sample carries the ground truth next to the prediction.
    """
    init_default_scope(cfg.get('default_scope'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    if not 0 <= index < len(dataset):
        raise SystemExit(f'error: --index {index} is outside the test split '
                         f'(0..{len(dataset) - 1})')
    item = dataset[index]
    with torch.no_grad():
        sample = model.test_step(dict(inputs=[item['inputs']],
                                      data_samples=[item['data_samples']]))[0]
    return sample.img_path, sample


def add_captions(visualizer, drawing: np.ndarray, captions: Sequence[str], title: str,
                 band: int = 0) -> np.ndarray:
    """Put ``title`` and one caption per equal-width panel of ``drawing`` above it.

    ``drawing`` is an RGB ``(H, W, 3)`` uint8 image made of ``len(captions)`` panels side
    by side (what the OpenMMLab visualizers draw for ``draw_gt`` and ``draw_pred``).  The
    text is drawn with ``visualizer`` (an mmengine ``Visualizer``) on a white band added
    above (``band`` pixels, default scaled to the image); returns the captioned RGB image.
    The texts stay on ``visualizer.ax_save`` (matplotlib), where tests can read them.
    """
    height, width = drawing.shape[:2]
    band = band or max(40, height // 6)
    canvas = np.full((height + band, width, 3), 255, dtype=np.uint8)
    canvas[band:] = drawing
    visualizer.set_image(canvas)
    panel = width / len(captions)
    caption_font = _fitting_font(max(captions, key=len), 0.95 * panel, band, visualizer)
    visualizer.draw_texts(title, np.array([width / 2, band * 0.08]), colors='black',
                          font_sizes=_fitting_font(title, 0.98 * width, band, visualizer),
                          horizontal_alignments='center', vertical_alignments='top')
    positions = np.array([[panel * (i + 0.5), band * 0.92] for i in range(len(captions))])
    visualizer.draw_texts(list(captions), positions, colors='black', font_sizes=caption_font,
                          horizontal_alignments='center', vertical_alignments='bottom')
    return visualizer.get_image()


def _fitting_font(text: str, width_px: float, band: int, visualizer) -> float:
    """A font size (points) at which ``text`` fits ``width_px`` and half the caption band."""
    points_per_px = 72 / getattr(visualizer, 'dpi', 100)
    fits_width = width_px / (0.6 * max(len(text), 1)) * points_per_px
    return max(4.0, min(fits_width, band * 0.4 * points_per_px))


def draw_with_captions(visualizer, name: str, image: np.ndarray, sample, out: str,
                       title: str, draw_gt: bool, **kwargs) -> np.ndarray:
    """``visualizer.add_datasample`` (ground truth left, prediction right) plus captions.

    Writes the captioned drawing to ``out`` (PNG) and returns it (RGB).
    """
    import mmcv

    # the visualizer writes its drawing to ``out`` (not every visualizer keeps the
    # side-by-side image as its current one), which is read back and captioned
    visualizer.add_datasample(name, image, sample, draw_gt=draw_gt, draw_pred=True, show=False,
                              out_file=out, **kwargs)
    captions = [GT_CAPTION, PRED_CAPTION] if draw_gt else [PRED_CAPTION]
    drawing = add_captions(visualizer, mmcv.imread(out, channel_order='rgb'), captions, title)
    mmcv.imwrite(drawing[..., ::-1], out)
    return drawing


def _hook_kind(hook: dict) -> str:
    return str(hook.get('type', '')).split('.')[-1]


def enable_test_visualization(cfg: Config, show: bool = False, show_dir: Optional[str] = None,
                              wait_time: float = 2.0, interval: Optional[int] = None) -> Config:
    """Switch on the task's visualization hook for ``tools/test.py --show/--show-dir``.

    The same meaning as the task libraries' ``tools/test.py``:

    * mmdet ``DetVisualizationHook``: ``draw=True``; ``--show-dir`` sets ``test_out_dir``
      (written under ``work_dir/<timestamp>/`` unless absolute);
    * mmseg ``SegVisualizationHook``: ``draw=True``; ``--show-dir`` becomes the
      visualizer's ``save_dir`` (images under ``<show_dir>/vis_data/vis_image``).  The
      training parts of the config are dropped (the hook's ``runner.iter`` would build
      the training loop and need the training set, which a test run may not have);
    * mmpretrain ``VisualizationHook``: ``enable=True``; ``--show-dir`` sets ``out_dir``
      (a path as given, relative to the current folder).

    ``--show`` opens a window per image for ``wait_time`` seconds.  ``interval``, if
    given, sets the hook's ``interval``: every n-th image (mmpretrain, default 5000) or
    batch (mmseg, default 50) is drawn; mmdet draws every test image regardless.

    Raises:
        ValueError: the config has no ``default_hooks.visualization`` or an unknown type.
    """
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ValueError("--show/--show-dir need a visualization hook in the config: add "
                         "default_hooks.visualization=dict(type='DetVisualizationHook') "
                         "(mmdet), 'SegVisualizationHook' (mmseg) or 'VisualizationHook' "
                         '(mmpretrain)')
    kind = _hook_kind(hook)
    if kind in ('DetVisualizationHook', 'SegVisualizationHook'):
        hook['draw'] = True
        if show_dir and kind == 'DetVisualizationHook':
            hook['test_out_dir'] = show_dir
        elif show_dir:
            cfg.visualizer['save_dir'] = show_dir
        if kind == 'SegVisualizationHook':
            # the hook asks runner.iter, which builds the training loop and reads the
            # training set; a test run has none to build
            cfg.update(train_dataloader=None, train_cfg=None, optim_wrapper=None,
                       param_scheduler=None)
    elif kind == 'VisualizationHook':
        hook['enable'] = True
        hook['out_dir'] = show_dir
    else:
        raise ValueError(f'--show/--show-dir: unknown visualization hook {hook.get("type")!r}; '
                         'expected DetVisualizationHook, SegVisualizationHook or '
                         'VisualizationHook')
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time
    if interval is not None:
        hook['interval'] = interval
    return cfg
