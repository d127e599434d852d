"""Tests for the synthetic COCO instance-segmentation generator (mmqsd.datasets.synthetic_coco)."""
import json
import os
import os.path as osp
import runpy

import numpy as np
import pytest
from PIL import Image

from mmqsd.datasets import GENERATORS
from mmqsd.datasets.demo_data import read_meta
from mmqsd.datasets.synthetic_coco import CLASSES, make_synthetic_coco

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMALL = dict(num_train=6, num_val=3, size=64, seed=3)


@pytest.fixture(scope='module')
def coco_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('demo') / 'demo_coco')
    make_synthetic_coco(out, **SMALL)
    return out


def annotations(root, split):
    with open(osp.join(root, 'annotations', f'instances_{split}.json')) as f:
        return json.load(f)


def test_layout_and_counts(coco_dir):
    meta = read_meta(coco_dir)
    assert meta['classes'] == list(CLASSES) and GENERATORS['coco'] is make_synthetic_coco
    for split, n in (('train', 6), ('val', 3)):
        coco = annotations(coco_dir, split)
        assert [c['name'] for c in coco['categories']] == list(CLASSES)
        assert sorted(os.listdir(osp.join(coco_dir, split))) == \
            sorted(i['file_name'] for i in coco['images']) and len(coco['images']) == n
        per_class = {c: sum(a['category_id'] == i + 1 for a in coco['annotations'])
                     for i, c in enumerate(CLASSES)}
        assert per_class == meta['counts'][split]
        per_image = np.bincount([a['image_id'] for a in coco['annotations']], minlength=n)
        assert per_image.min() >= 1 and per_image.max() <= 3


def test_masks_boxes_and_pixels_agree(coco_dir):
    from pycocotools.coco import COCO
    coco = COCO(osp.join(coco_dir, 'annotations', 'instances_train.json'))
    for ann in coco.loadAnns(coco.getAnnIds()):
        mask = coco.annToMask(ann).astype(bool)
        assert abs(mask.sum() - ann['area']) <= 0.15 * ann['area']  # rasterisers differ at edges
        ys, xs = np.nonzero(mask)
        x, y, w, h = ann['bbox']
        assert abs(xs.min() - x) <= 1.5 and abs(xs.max() + 1 - (x + w)) <= 1.5
        assert abs(ys.min() - y) <= 1.5 and abs(ys.max() + 1 - (y + h)) <= 1.5
        image = np.asarray(Image.open(osp.join(coco_dir, 'train', coco.imgs[ann['image_id']]
                                                ['file_name'])), dtype=float)
        assert np.abs(image[mask].mean(0) - image[~mask].mean(0)).max() > 20  # a visible shape


def test_deterministic_and_kept(coco_dir, tmp_path):
    again = str(tmp_path / 'again')
    make_synthetic_coco(again, **SMALL)
    assert annotations(again, 'val') == annotations(coco_dir, 'val')
    first = osp.join('train', '000000.png')
    assert np.array_equal(np.asarray(Image.open(osp.join(again, first))),
                          np.asarray(Image.open(osp.join(coco_dir, first))))
    stamp = os.stat(osp.join(again, first)).st_mtime_ns
    make_synthetic_coco(again, **SMALL)  # same arguments: kept as is
    assert os.stat(osp.join(again, first)).st_mtime_ns == stamp


def test_bad_sizes_are_rejected(tmp_path):
    with pytest.raises(ValueError, match='min_size'):
        make_synthetic_coco(str(tmp_path / 'x'), size=32, min_size=40)


def test_mmdet_coco_dataset_reads_it(coco_dir):
    from mmdet.datasets import CocoDataset
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = CocoDataset(
            data_root=coco_dir, ann_file='annotations/instances_val.json',
            data_prefix=dict(img='val/'), metainfo=dict(classes=CLASSES),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                      dict(type='PackDetInputs')])
        sample = dataset[0]['data_samples']
    assert len(dataset) == 3 and sample.gt_instances.masks.height == 64
    assert len(sample.gt_instances) == len(sample.gt_instances.masks)


def test_command_line_subcommand(tmp_path, capsys):
    main = runpy.run_path(osp.join(ROOT, 'tools/misc/make_demo_data.py'), run_name='tool')['main']
    out = tmp_path / 'demo_coco'
    main(['coco', '--out', str(out), '--num-train', '2', '--num-val', '1', '--size', '48'])
    assert 'wrote coco demo data' in capsys.readouterr().out
    assert read_meta(str(out))['params']['size'] == 48
