"""A small synthetic instance-segmentation data set in COCO format (the detection demo).

Coloured rectangles, ellipses and triangles (three categories, told apart by
shape, not colour) on random textured backgrounds, with polygon instance
masks.  Written in mmdet's ``CocoDataset`` layout::

    <out>/train/000000.png ...                 training images
    <out>/val/000000.png ...                   validation images
    <out>/annotations/instances_train.json     COCO instances (bbox, polygon, area)
    <out>/annotations/instances_val.json
    <out>/meta.json                            written last: a complete data set

Everything is drawn from ``numpy.random.default_rng(seed)``, so the data set is
identical for a given set of arguments; it is written atomically (see
:mod:`mmqsd.datasets.demo_data`) and kept when it already exists.
"""
import json
import os
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np

from ..utils.progress import track
from .demo_data import GENERATORS, write_dataset

CLASSES = ('rectangle', 'ellipse', 'triangle')
ELLIPSE_VERTICES = 32


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A muted, textured RGB background: half-desaturated smooth colour noise plus
    stripes and grain."""
    from PIL import Image

    coarse = rng.uniform(60, 170, size=(rng.integers(3, 9), rng.integers(3, 9), 3))
    smooth = np.asarray(Image.fromarray(coarse.astype(np.uint8)).resize(
        (size, size), Image.Resampling.BICUBIC), dtype=np.float32)
    smooth = (smooth + smooth.mean(-1, keepdims=True)) / 2
    yy, xx = np.mgrid[0:size, 0:size]
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, 20)
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    texture = smooth + stripes[..., None] * rng.uniform(5, 20)
    texture += rng.normal(0, 6, size=texture.shape)
    return texture


def colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated, bright RGB colour (HSV with S, V >= 0.7)."""
    import colorsys
    hsv = rng.uniform(), rng.uniform(0.7, 1), rng.uniform(0.7, 1)
    return np.array(colorsys.hsv_to_rgb(*hsv)) * 255


def shape_polygon(rng: np.random.Generator, category: int, box: Tuple[float, float, float, float]):
    """Vertices ``[(x, y), ...]`` of a shape of ``category`` inscribed in ``box``."""
    x0, y0, x1, y1 = box
    if CLASSES[category] == 'rectangle':
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if CLASSES[category] == 'ellipse':
        t = np.linspace(0, 2 * np.pi, ELLIPSE_VERTICES, endpoint=False)
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
        return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))
    # triangle: one vertex on a random point of one side, the two corners opposite
    along = rng.uniform(0.2, 0.8)
    side = rng.integers(4)
    if side == 0:
        return [(x0 + along * (x1 - x0), y0), (x1, y1), (x0, y1)]
    if side == 1:
        return [(x0 + along * (x1 - x0), y1), (x0, y0), (x1, y0)]
    if side == 2:
        return [(x0, y0 + along * (y1 - y0)), (x1, y0), (x1, y1)]
    return [(x1, y0 + along * (y1 - y0)), (x0, y1), (x0, y0)]


def place_boxes(rng: np.random.Generator, size: int, count: int, min_size: int,
                 max_size: int) -> List[Tuple[float, float, float, float]]:
    """Up to ``count`` non-overlapping boxes (2 px apart) inside the image."""
    boxes = []
    for _ in range(count * 20):
        if len(boxes) == count:
            break
        w, h = rng.uniform(min_size, max_size, size=2)
        x0, y0 = rng.uniform(1, size - 1 - w), rng.uniform(1, size - 1 - h)
        box = (x0, y0, x0 + w, y0 + h)
        if all(box[0] > b[2] + 2 or box[2] < b[0] - 2 or box[1] > b[3] + 2 or box[3] < b[1] - 2
               for b in boxes):
            boxes.append(box)
    return boxes


def render_image(rng: np.random.Generator, size: int, max_objects: int, min_size: int,
                 max_size: int):
    """One image (uint8 HxWx3) and its objects ``[(category, polygon, mask)]``."""
    from PIL import Image, ImageDraw

    image = background(rng, size)
    objects = []
    boxes = place_boxes(rng, size, int(rng.integers(1, max_objects + 1)), min_size, max_size)
    for box in boxes:
        category = int(rng.integers(len(CLASSES)))
        polygon = [(float(x), float(y)) for x, y in shape_polygon(rng, category, box)]
        canvas = Image.new('L', (size, size), 0)
        ImageDraw.Draw(canvas).polygon(polygon, fill=1)
        mask = np.asarray(canvas, dtype=bool)
        shade = 1 + rng.normal(0, 0.06, size=(size, size, 1))  # a little texture on the object
        image[mask] = (colour(rng) * shade)[mask]
        objects.append((category, polygon, mask))
    return np.clip(image, 0, 255).astype(np.uint8), objects


def coco_annotation(ann_id: int, image_id: int, category: int, polygon, mask) -> dict:
    """A COCO ``annotations`` entry (bbox from the polygon, area from the mask)."""
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    x0, y0 = min(xs), min(ys)
    return dict(id=ann_id, image_id=image_id, category_id=category + 1, iscrowd=0,
                bbox=[round(x0, 2), round(y0, 2), round(max(xs) - x0, 2), round(max(ys) - y0, 2)],
                area=float(mask.sum()),
                segmentation=[[round(v, 2) for p in polygon for v in p]])


def write_split(root: str, split: str, num_images: int, rng: np.random.Generator,
                **render_args) -> dict:
    """Write ``<root>/<split>/*.png`` and its COCO json; return the instance counts."""
    from PIL import Image

    os.makedirs(osp.join(root, split))
    images, annotations = [], []
    for image_id in track(range(num_images), f'coco demo: {split} images'):
        image, objects = render_image(rng, **render_args)
        name = f'{image_id:06d}.png'
        Image.fromarray(image).save(osp.join(root, split, name))
        size = render_args['size']
        images.append(dict(id=image_id, file_name=name, width=size, height=size))
        for category, polygon, mask in objects:
            annotations.append(coco_annotation(len(annotations) + 1, image_id, category,
                                               polygon, mask))
    coco = dict(images=images, annotations=annotations,
                categories=[dict(id=i + 1, name=c, supercategory='shape')
                            for i, c in enumerate(CLASSES)])
    with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
        json.dump(coco, f)
    return {c: sum(a['category_id'] == i + 1 for a in annotations) for i, c in enumerate(CLASSES)}



def shape_scene_params(source: str, num_train: int, num_val: int, size: int, max_objects: int,
                       min_size: int, max_size: int, seed: int) -> dict:
    """Validate the arguments of a synthetic shapes generator; return its ``params`` record."""
    if not 4 <= min_size <= max_size < size - 2:
        raise ValueError(f'shape sizes must satisfy 4 <= min_size <= max_size < size - 2, got '
                         f'min_size={min_size}, max_size={max_size}, size={size}')
    if num_train < 1 or num_val < 1 or max_objects < 1:
        raise ValueError('num_train, num_val and max_objects must be positive')
    return dict(source=source, num_train=num_train, num_val=num_val, size=size,
                max_objects=max_objects, min_size=min_size, max_size=max_size, seed=seed)

def make_synthetic_coco(out_dir: str, num_train: int = 200, num_val: int = 50, size: int = 128,
                        max_objects: int = 3, min_size: Optional[int] = None,
                        max_size: Optional[int] = None, seed: int = 0,
                        force: bool = False) -> dict:
    """Write the synthetic shapes data set to ``out_dir``; return its meta dict.

    Object sides are drawn from ``[min_size, max_size]`` (default: a fifth to a
    half of ``size``); each image holds 1..``max_objects`` non-overlapping shapes.
    """
    params = shape_scene_params('mmqsd.datasets.synthetic_coco', num_train, num_val, size,
                                max_objects, size // 5 if min_size is None else min_size,
                                size // 2 if max_size is None else max_size, seed)
    min_size, max_size = params['min_size'], params['max_size']

    def write(root: str) -> dict:
        os.makedirs(osp.join(root, 'annotations'))
        rng = np.random.default_rng(seed)
        render_args = dict(size=size, max_objects=max_objects, min_size=min_size,
                           max_size=max_size)
        counts = {split: write_split(root, split, n, rng, **render_args)
                  for split, n in (('train', num_train), ('val', num_val))}
        return dict(classes=list(CLASSES), counts=counts)

    return write_dataset(out_dir, params, write, force)


GENERATORS['coco'] = make_synthetic_coco
