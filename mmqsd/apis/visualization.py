"""Shared pieces of the prediction-drawing tools (detection and segmentation)."""
import argparse

import torch
from mmengine.config import DictAction
from mmengine.registry import DATASETS, init_default_scope


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
