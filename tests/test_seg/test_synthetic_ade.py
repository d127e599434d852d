"""The synthetic ADE20K-layout demo data (mmqsd.datasets.synthetic_ade) and its dataset class."""
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from mmseg.registry import DATASETS
from PIL import Image

from mmqsd.datasets import GENERATORS, SyntheticADEDataset, make_synthetic_ade
from mmqsd.datasets.synthetic_ade import CLASSES

SMALL = dict(num_train=4, num_val=3, size=48, max_objects=3)


@pytest.fixture(scope='module')
def ade_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('seg') / 'demo_ade')
    make_synthetic_ade(out, **SMALL)
    return out


def test_ade20k_folder_layout_and_names(ade_dir):
    for folder, prefix, count in (('training', 'train', 4), ('validation', 'val', 3)):
        images = sorted(os.listdir(osp.join(ade_dir, 'images', folder)))
        labels = sorted(os.listdir(osp.join(ade_dir, 'annotations', folder)))
        assert images == [f'ADE_{prefix}_{i:08d}.jpg' for i in range(1, count + 1)]
        assert labels == [name.replace('.jpg', '.png') for name in images]


def test_labels_follow_ade20k_conventions(ade_dir):
    folder = osp.join(ade_dir, 'annotations', 'training')
    labels = np.stack([np.asarray(Image.open(osp.join(folder, f))) for f in os.listdir(folder)])
    image = Image.open(osp.join(ade_dir, 'images', 'training', 'ADE_train_00000001.jpg'))
    assert image.size == (48, 48) and image.mode == 'RGB' and labels.dtype == np.uint8
    values = set(np.unique(labels).tolist())
    assert {0, 1, 2} <= values <= set(range(len(CLASSES) + 1))  # 0: unlabelled outlines
    assert values & {3, 4, 5}, 'some shape must be present'


def test_meta_reports_pixel_shares_and_trivial_miou(ade_dir):
    from mmqsd.datasets.demo_data import read_meta
    meta = read_meta(ade_dir)
    assert meta['classes'] == list(CLASSES)
    val = meta['counts']['val']
    assert val['images'] == 3 and sum(val['pixel_share'].values()) == pytest.approx(1, abs=1e-3)
    assert val['trivial_miou'] == pytest.approx(100 * max(val['pixel_share'].values()) / 5,
                                                abs=0.01)


def test_deterministic_and_kept_when_up_to_date(tmp_path, ade_dir):
    out = str(tmp_path / 'again')
    make_synthetic_ade(out, **SMALL)
    name = osp.join('annotations', 'validation', 'ADE_val_00000002.png')
    assert np.array_equal(np.asarray(Image.open(osp.join(out, name))),
                          np.asarray(Image.open(osp.join(ade_dir, name))))
    stamp = os.stat(osp.join(out, name)).st_mtime_ns
    make_synthetic_ade(out, **SMALL)
    assert os.stat(osp.join(out, name)).st_mtime_ns == stamp
    assert GENERATORS['ade'] is make_synthetic_ade


def test_bad_sizes_are_refused(tmp_path):
    with pytest.raises(ValueError, match='min_size'):
        make_synthetic_ade(str(tmp_path / 'x'), size=48, min_size=40, max_size=30)


def test_dataset_loads_with_reduce_zero_label(ade_dir):
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', reduce_zero_label=True),
                dict(type='PackSegInputs')]
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = DATASETS.build(dict(
            type='mmqsd.SyntheticADEDataset', data_root=ade_dir, pipeline=pipeline,
            data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation')))
        item = dataset[0]
    assert isinstance(dataset, SyntheticADEDataset) and len(dataset) == 3
    assert dataset.metainfo['classes'] == CLASSES and len(dataset.metainfo['palette']) == 5
    gt = item['data_samples'].gt_sem_seg.data
    raw = np.asarray(Image.open(
        osp.join(ade_dir, 'annotations', 'validation', 'ADE_val_00000001.png')))
    assert np.array_equal(gt[0].numpy(), np.where(raw == 0, 255, raw.astype(np.int64) - 1))


def test_cli_sub_command(tmp_path):
    import importlib.util
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    spec = importlib.util.spec_from_file_location(
        'make_demo_data', osp.join(root, 'tools', 'misc', 'make_demo_data.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = str(tmp_path / 'cli_ade')
    cli.main(['ade', '--out', out, '--num-train', '2', '--num-val', '1', '--size', '40'])
    assert len(os.listdir(osp.join(out, 'images', 'training'))) == 2
