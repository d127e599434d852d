"""mmqsd.CIFAR10DVS: layout, the deterministic 9:1 split, errors, and the frame transforms."""
import os
import os.path as osp
import runpy
import shutil

import numpy as np
import pytest
from mmengine.registry import DefaultScope

from mmqsd.datasets.cifar10_dvs import CIFAR10DVS, train_test_split
from mmqsd.datasets.event_transforms import (EventFrameCutout, EventFrameFlip, EventFrameTranslate,
                                             LoadEventFrames, ResizeEventFrames)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _names(dataset):
    return [osp.basename(dataset.get_data_info(i)['img_path']) for i in range(len(dataset))]


def test_split_is_by_sorted_name_ceil_of_ratio():
    files = [f'cifar10_cat_{i}.aedat' for i in range(1000)]
    train, test = train_test_split(files[::-1], 0.9)
    assert (len(train), len(test)) == (900, 100)
    assert train == sorted(files)[:900]  # plain string order: _0, _1, _10, _100, ...
    assert test == sorted(files)[900:] and 'cifar10_cat_99.aedat' in test
    with pytest.raises(ValueError, match='train_ratio'):
        train_test_split(files, 1.0)


def test_dataset_split_is_deterministic_9_to_1_per_class(dvs_root):
    train, test = CIFAR10DVS(dvs_root, split='train'), CIFAR10DVS(dvs_root, split='test')
    everything = CIFAR10DVS(dvs_root, split='all')
    assert (len(train), len(test), len(everything)) == (90, 10, 100)
    labels = [train.get_data_info(i)['gt_label'] for i in range(len(train))]
    assert np.bincount(labels).tolist() == [9] * 10
    assert sorted(_names(train) + _names(test)) == sorted(_names(everything))
    assert _names(test)[0] == 'cifar10_airplane_9.aedat'
    assert _names(CIFAR10DVS(dvs_root, split='train')) == _names(train)
    archives = CIFAR10DVS(dvs_root, split='test', data_prefix='frames_number_10_split_by_number')
    assert [n.replace('.npz', '.aedat') for n in _names(archives)] == _names(test)
    assert train.CLASSES[0] == 'airplane' and len(train.CLASSES) == 10


def test_missing_root_and_bad_layouts_name_the_problem(tmp_path, dvs_root):
    with pytest.raises(FileNotFoundError, match=r"'/no/such/dir' does not exist; expected "
                       r'<root>/<class>/\*\.aedat'):
        CIFAR10DVS('/no/such/dir')
    partial = tmp_path / 'partial'
    shutil.copytree(osp.join(dvs_root, 'cat'), partial / 'cat')
    with pytest.raises(FileNotFoundError, match=r"lacks the class folders \['airplane'"):
        CIFAR10DVS(str(partial))
    mixed = tmp_path / 'mixed'
    for name in os.listdir(dvs_root):
        if not name.startswith(('frames', 'meta')):
            shutil.copytree(osp.join(dvs_root, name), mixed / name)
    (mixed / 'dog' / 'extra.npz').write_bytes(b'')
    with pytest.raises(ValueError, match=r"mixes \['.aedat', '.npz'\] files"):
        CIFAR10DVS(str(mixed))
    with pytest.raises(ValueError, match="'test' split .* is empty"):
        CIFAR10DVS(dvs_root, split='test', train_ratio=0.99)
    with pytest.raises(ValueError, match='split must be one of'):
        CIFAR10DVS(dvs_root, split='val')


def test_pipeline_gives_t_c_h_w_frames(dvs_root):
    pipeline = [dict(type='mmqsd.LoadEventFrames', num_frames=10),
                dict(type='mmqsd.ResizeEventFrames', size=64), dict(type='PackInputs')]
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # as under the configs
        sample = CIFAR10DVS(dvs_root, split='test', pipeline=pipeline)[3]
    assert tuple(sample['inputs'].shape) == (10, 3, 64, 64)
    assert sample['data_samples'].gt_label.item() == 3
    assert sample['data_samples'].ori_shape == (128, 128)


def _frames(dvs_root):
    results = dict(img_path=osp.join(dvs_root, 'frog', 'cifar10_frog_0.aedat'))
    return LoadEventFrames(num_frames=4)(results)


def test_resize_keeps_the_mean_count(dvs_root):
    results = _frames(dvs_root)
    frames = results['img'].copy()
    small = ResizeEventFrames(32)(results)['img']
    assert small.shape == (4, 3, 32, 32) and results['img_shape'] == (32, 32)
    assert np.allclose(small.mean(axis=(2, 3)), frames.mean(axis=(2, 3)), rtol=1e-5)


def test_flip_roll_and_cutout_act_on_every_frame_alike(dvs_root):
    frames = _frames(dvs_root)['img']
    flipped = EventFrameFlip(prob=1.0)(dict(img=frames.copy()))
    assert flipped['flip'] and np.array_equal(flipped['img'], frames[..., ::-1])
    np.random.seed(3)
    rolled = EventFrameTranslate(max_shift=5)(dict(img=frames.copy()))['img']
    np.random.seed(3)
    dy, dx = np.random.randint(-5, 6, size=2)
    assert np.array_equal(rolled, np.roll(frames, (dy, dx), axis=(-2, -1)))
    ones = dict(img=np.ones((2, 1, 16, 16)))
    shifted = EventFrameTranslate(max_shift=5, mode='zero')(ones)['img']
    assert 121 <= shifted[0, 0].sum() <= 256 and (shifted[0] == shifted[1]).all()
    cut = EventFrameCutout(size=6)(dict(img=np.ones((3, 2, 20, 20), np.float32)))['img']
    assert 9 <= (cut[0, 0] == 0).sum() <= 36 and (cut == cut[:1, :1]).all()
    with pytest.raises(ValueError, match=r'\(T, C, H, W\) frames'):
        EventFrameFlip()(dict(img=np.zeros((8, 8, 3))))


def test_make_demo_data_cli_writes_cifar10dvs(tmp_path, capsys):
    out = str(tmp_path / 'demo_cifar10dvs')
    tool = runpy.run_path(osp.join(ROOT, 'tools/misc/make_demo_data.py'), run_name='tool')
    tool['main'](['cifar10dvs', '--out', out, '--num-events', '100', '--frames', '0'])
    assert 'wrote cifar10dvs demo data' in capsys.readouterr().out
    assert len(CIFAR10DVS(out, split='all')) == 100
    assert not any(name.startswith('frames_number') for name in os.listdir(out))
