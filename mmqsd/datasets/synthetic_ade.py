"""A small synthetic semantic-segmentation data set in ADE20K's layout (the
segmentation demo; the real benchmark is ADE20K, QSD paper Sec. 5, Table 3).

Each scene has two "stuff" classes split by a wavy horizon, a smooth bluish
``sky`` above and a textured ``ground`` below, and 1..``max_objects`` randomly
coloured ``rectangle`` / ``ellipse`` / ``triangle`` shapes drawn over them.  As
real classes have typical surfaces, each shape class also has its own: flat
rectangles, ball-like shaded ellipses, striped triangles.  (By outline alone
the tiny demo model learns the shapes less well in its 600 iterations: mIoU
62 instead of 75, docs/segmentation.md.)  As in ADE20K, label 0 means "other
/ unlabelled": here a 1-pixel outline around every shape, so that
``reduce_zero_label=True`` (0 -> 255, ignored; k -> k - 1) is exercised
exactly as on the real data::

    <out>/images/training/ADE_train_00000001.jpg ...
    <out>/images/validation/ADE_val_00000001.jpg ...
    <out>/annotations/training/ADE_train_00000001.png ...   uint8 labels 0..5
    <out>/annotations/validation/ADE_val_00000001.png ...
    <out>/meta.json    written last: classes, pixel shares, trivial mIoU

``meta.json`` records, per split, each class's share of the labelled pixels
and the mIoU of the trivial predictor that outputs the majority class
everywhere (share of that class / number of classes), the floor a trained
model must clear.  Everything is drawn from ``numpy.random.default_rng(seed)``;
shapes, backgrounds and colours reuse :mod:`mmqsd.datasets.synthetic_coco`.

:class:`SyntheticADEDataset` is mmseg's ``ADE20KDataset`` with this data set's
classes and palette.  A subclass rather than ``ADE20KDataset`` with a
``metainfo=`` override: mmseg then requires the classes to be a subset of
ADE20K's 150 names and remaps label values as ADE20K ids.
"""
import colorsys
import os
import os.path as osp
from typing import Optional

import numpy as np
from mmseg.datasets import ADE20KDataset

from ..registry import DATASETS
from ..utils.progress import track
from .demo_data import GENERATORS, write_dataset
from .synthetic_coco import CLASSES as SHAPES
from .synthetic_coco import background, colour, place_boxes, shape_polygon, shape_scene_params

CLASSES = ('sky', 'ground') + SHAPES
PALETTE = [[70, 130, 180], [140, 110, 60], [220, 20, 60], [255, 200, 0], [0, 160, 90]]
SPLITS = (('training', 'train'), ('validation', 'val'))


@DATASETS.register_module()
class SyntheticADEDataset(ADE20KDataset):
    """The synthetic scenes written by :func:`make_synthetic_ade` (``.jpg`` images,
    ``.png`` labels, ``reduce_zero_label=True`` as ADE20K)."""
    METAINFO = dict(classes=CLASSES, palette=PALETTE)


def _sky(rng: np.random.Generator, size: int) -> np.ndarray:
    """A vertical gradient between two pale blues with faint grain."""
    def pale_blue():
        hsv = rng.uniform(0.53, 0.64), rng.uniform(0.15, 0.5), rng.uniform(0.75, 1.0)
        return np.array(colorsys.hsv_to_rgb(*hsv)) * 255

    ramp = np.linspace(0, 1, size)[:, None, None]
    top, bottom = pale_blue(), pale_blue()
    sky = top * (1 - ramp) + bottom * ramp + rng.normal(0, 2, size=(size, size, 3))
    return np.broadcast_to(sky, (size, size, 3))


def _horizon_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """True above a random wavy horizon (between 30 % and 60 % of the height)."""
    xs = np.arange(size)
    level = rng.uniform(0.3, 0.6) * size
    wave = rng.uniform(1, size / 12) * np.sin(2 * np.pi * xs / rng.uniform(size / 2, 2 * size)
                                               + rng.uniform(0, 2 * np.pi))
    return np.arange(size)[:, None] < (level + wave)[None, :]


def _surface(rng: np.random.Generator, shape: str, box, size: int) -> np.ndarray:
    """Per-pixel brightness factor (H, W, 1) of a shape class's surface."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    x0, y0, x1, y1 = box
    grain = rng.normal(1, 0.06, size=(size, size))
    if shape == 'ellipse':  # a ball lit from the upper left: bright spot, dark rim
        cx, cy = x0 + 0.35 * (x1 - x0), y0 + 0.35 * (y1 - y0)
        dist = np.hypot((xx - cx) / (x1 - x0), (yy - cy) / (y1 - y0))
        grain *= 1.25 - 0.9 * np.clip(dist, 0, 1)
    elif shape == 'triangle':  # parallel stripes of random direction and period
        angle, period = rng.uniform(0, np.pi), rng.uniform(5, 8)
        phase = (xx * np.cos(angle) + yy * np.sin(angle)) / period
        grain *= np.where(phase % 1 < 0.5, 1.0, 0.55)
    return grain[..., None]


def render_scene(rng: np.random.Generator, size: int, max_objects: int, min_size: int,
                 max_size: int):
    """One scene: ``(image uint8 HxWx3, label uint8 HxW)`` with ADE20K-style labels
    (0 other, 1 + index into :data:`CLASSES`)."""
    from PIL import Image, ImageDraw

    above = _horizon_mask(rng, size)
    image = np.where(above[..., None], _sky(rng, size), background(rng, size))
    label = np.where(above, 1 + CLASSES.index('sky'), 1 + CLASSES.index('ground')).astype(np.uint8)
    canvas = Image.fromarray(label)
    draw = ImageDraw.Draw(canvas)
    for box in place_boxes(rng, size, int(rng.integers(1, max_objects + 1)), min_size, max_size):
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        polygon = [(float(x), float(y)) for x, y in shape_polygon(rng, SHAPES.index(shape), box)]
        mask = Image.new('L', (size, size), 0)
        ImageDraw.Draw(mask).polygon(polygon, fill=1)
        mask = np.asarray(mask, dtype=bool)
        image = np.where(mask[..., None], colour(rng) * _surface(rng, shape, box, size), image)
        draw.polygon(polygon, fill=1 + CLASSES.index(shape))
        draw.line(polygon + polygon[:1], fill=0, width=1)  # unlabelled outline
    return np.clip(image, 0, 255).astype(np.uint8), np.asarray(canvas)


def write_split(root: str, folder: str, prefix: str, num_images: int,
                rng: np.random.Generator, **render_args) -> dict:
    """Write one split; return its image count and per-class pixel shares."""
    from PIL import Image

    img_dir, ann_dir = osp.join(root, 'images', folder), osp.join(root, 'annotations', folder)
    os.makedirs(img_dir)
    os.makedirs(ann_dir)
    pixels = np.zeros(len(CLASSES) + 1, dtype=np.int64)
    for index in track(range(1, num_images + 1), f'ade demo: {prefix} images'):
        image, label = render_scene(rng, **render_args)
        name = f'ADE_{prefix}_{index:08d}'
        Image.fromarray(image).save(osp.join(img_dir, name + '.jpg'), quality=95)
        Image.fromarray(label).save(osp.join(ann_dir, name + '.png'))
        pixels += np.bincount(label.ravel(), minlength=len(CLASSES) + 1)
    labelled = pixels[1:] / pixels[1:].sum()
    return dict(images=num_images,
                pixel_share={c: round(float(s), 4) for c, s in zip(CLASSES, labelled)},
                unlabelled_share=round(float(pixels[0] / pixels.sum()), 4),
                trivial_miou=round(100 * float(labelled.max()) / len(CLASSES), 2))


def make_synthetic_ade(out_dir: str, num_train: int = 300, num_val: int = 60, size: int = 128,
                       max_objects: int = 4, min_size: Optional[int] = None,
                       max_size: Optional[int] = None, seed: int = 0,
                       force: bool = False) -> dict:
    """Write the synthetic scenes to ``out_dir`` in ADE20K's layout; return the meta dict.

    Shape sides are drawn from ``[min_size, max_size]`` (default: a sixth to
    two fifths of ``size``).  An existing complete data set made with the
    same arguments is kept; ``force`` rewrites it.
    """
    params = shape_scene_params('mmqsd.datasets.synthetic_ade', num_train, num_val, size,
                                max_objects, size // 6 if min_size is None else min_size,
                                size * 2 // 5 if max_size is None else max_size, seed)
    min_size, max_size = params['min_size'], params['max_size']

    def write(root: str) -> dict:
        rng = np.random.default_rng(seed)
        render_args = dict(size=size, max_objects=max_objects, min_size=min_size,
                           max_size=max_size)
        counts = {split: write_split(root, folder, split, n, rng, **render_args)
                  for (folder, split), n in zip(SPLITS, (num_train, num_val))}
        return dict(classes=list(CLASSES), counts=counts)

    return write_dataset(out_dir, params, write, force)


GENERATORS['ade'] = make_synthetic_ade
