"""Tests for the offline demo-data generators (mmqsd.datasets.demo_data)."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmqsd.datasets.demo_data import make_digits, read_meta, stratified_split, write_dataset

N_DIGITS = 1797  # sklearn.datasets.load_digits


def test_stratified_split_is_deterministic_and_balanced():
    labels = np.repeat(np.arange(3), [10, 20, 31])
    mask = stratified_split(labels, 0.2, seed=1)
    assert np.array_equal(mask, stratified_split(labels, 0.2, seed=1))
    assert not np.array_equal(mask, stratified_split(labels, 0.2, seed=2))
    assert [int(mask[labels == c].sum()) for c in range(3)] == [2, 4, 6]


@pytest.mark.parametrize('ratio', [0, 1, -0.1])
def test_stratified_split_rejects_bad_ratio(ratio):
    with pytest.raises(ValueError, match='val_ratio'):
        stratified_split(np.zeros(4), ratio, seed=0)


@pytest.fixture(scope='module')
def digits_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('demo') / 'demo_digits')
    make_digits(out)
    return out


def _files(folder):
    return sorted(osp.join(root, f) for root, _, files in os.walk(folder) for f in files)


def test_digits_layout_counts_and_split(digits_dir):
    meta = read_meta(digits_dir)
    assert meta['classes'] == [str(c) for c in range(10)]
    for split in ('train', 'val'):
        assert sorted(os.listdir(osp.join(digits_dir, split))) == meta['classes']
        for cls, count in meta['counts'][split].items():
            assert len(os.listdir(osp.join(digits_dir, split, cls))) == count
    train, val = (sum(meta['counts'][s].values()) for s in ('train', 'val'))
    assert train + val == N_DIGITS
    for cls in meta['classes']:  # ~20 % of every class goes to val
        n_val, n_train = meta['counts']['val'][cls], meta['counts']['train'][cls]
        assert n_val == round(0.2 * (n_val + n_train))
    names = [osp.basename(f) for f in _files(digits_dir) if f.endswith('.png')]
    assert len(names) == len(set(names)) == N_DIGITS  # each digit exactly once


def test_digits_images_are_32px_rgb_with_ink(digits_dir):
    image = Image.open(_files(osp.join(digits_dir, 'train', '0'))[0])
    assert image.size == (32, 32) and image.mode == 'RGB'
    pixels = np.asarray(image)
    assert pixels.max() > 200 and pixels.min() < 50
    assert np.array_equal(pixels[..., 0], pixels[..., 2])  # grey stored as RGB


def test_digits_keeps_a_complete_data_set(digits_dir):
    before = {f: os.stat(f).st_mtime_ns for f in _files(digits_dir)}
    assert make_digits(digits_dir) == read_meta(digits_dir)
    assert {f: os.stat(f).st_mtime_ns for f in _files(digits_dir)} == before


def test_digits_refuses_a_foreign_folder_unless_forced(tmp_path):
    out = tmp_path / 'occupied'
    out.mkdir()
    (out / 'mine.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='--force'):
        make_digits(str(out))
    assert (out / 'mine.txt').exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.occupied')]  # no temp left


def test_write_dataset_keeps_the_old_data_if_regeneration_fails(tmp_path):
    out = str(tmp_path / 'ds')
    meta = write_dataset(out, dict(v=1), lambda root: dict(counts={}))
    assert meta == dict(params=dict(v=1), counts={})

    def fail(root):
        (tmp_path / 'ds' / 'seen').write_text('old data still there while writing')
        open(osp.join(root, 'partial.png'), 'w').close()
        raise RuntimeError('generator failed')

    with pytest.raises(RuntimeError, match='generator failed'):
        write_dataset(out, dict(v=2), fail)
    assert read_meta(out)['params'] == dict(v=1)
    assert sorted(os.listdir(tmp_path)) == ['ds']  # no temporary folder left


@pytest.mark.slow
def test_digits_force_regenerates_with_new_split(tmp_path):
    out = str(tmp_path / 'digits')
    make_digits(out, seed=0)
    val_seed0 = _files(osp.join(out, 'val'))
    meta = make_digits(out, seed=1)
    assert meta['params']['seed'] == 1
    assert _files(osp.join(out, 'val')) != val_seed0
