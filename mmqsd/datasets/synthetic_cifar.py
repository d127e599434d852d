"""A few synthetic CIFAR-10/100 batches in the official "python version" format.

mmpretrain's ``CIFAR10`` / ``CIFAR100`` read the pickled batches of the
official archives and check each file's md5 against the real data set's.
Generated batches cannot match those sums, so they are read by
:class:`SyntheticCIFAR10` / :class:`SyntheticCIFAR100`: the same classes with
the md5 sums taken from the ``meta.json`` the generator writes.  The
integrity check still runs (against the generator's sums) and the real
data sets keep mmpretrain's own types and checks::

    <out>/cifar-10-batches-py/data_batch_1 .. data_batch_5, test_batch, batches.meta
    <out>/cifar-100-python/train, test, meta
    <out>/meta.json      written last: params, counts, md5 of every file above

Batches are pickled dicts as in the originals: ``data`` (N, 3072) uint8 rows
holding the R, G and B planes of a 32x32 image, ``labels`` (CIFAR-10) or
``fine_labels`` + ``coarse_labels`` (CIFAR-100), ``filenames``.  Images are a
class colour with a class-dependent stripe and noise.
"""
import hashlib
import os
import os.path as osp
import pickle

import numpy as np
from mmpretrain.datasets import CIFAR10, CIFAR100

from ..registry import DATASETS
from .demo_data import read_meta, write_dataset

KINDS = {'cifar10': CIFAR10, 'cifar100': CIFAR100}


def _images(labels: np.ndarray, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """(N, 3072) uint8 rows: class colour + a stripe whose position depends on the class."""
    hues = np.linspace(0, 1, num_classes, endpoint=False)
    colour = 127 + 100 * np.stack([np.cos(2 * np.pi * (hues + k / 3)) for k in range(3)], 1)
    imgs = colour[labels][:, :, None, None] + rng.normal(0, 20, (len(labels), 3, 32, 32))
    for i, label in enumerate(labels):
        row = 2 + (label * 3) % 28
        imgs[i, :, row:row + 3, :] = 255 - imgs[i, :, row:row + 3, :]
    return np.clip(imgs, 0, 255).astype(np.uint8).reshape(len(labels), -1)


def _batch(kind: str, labels: np.ndarray, rng, name: str) -> dict:
    data = _images(labels, len(KINDS[kind].METAINFO['classes']), rng)
    batch = dict(batch_label=name, data=data,
                 filenames=[f'synthetic_{name}_{i}.png' for i in range(len(labels))])
    if kind == 'cifar10':
        batch['labels'] = labels.tolist()
    else:
        batch['fine_labels'], batch['coarse_labels'] = labels.tolist(), (labels // 5).tolist()
    return batch


def _md5(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.md5(f.read()).hexdigest()


def make_synthetic_cifar(out_dir: str, kind: str = 'cifar10', num_train: int = 50,
                         num_test: int = 20, seed: int = 0, force: bool = False) -> dict:
    """Write ``num_train`` / ``num_test`` images as CIFAR batches; return the meta dict."""
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {sorted(KINDS)}, got {kind!r}')
    dataset = KINDS[kind]
    num_classes = len(dataset.METAINFO['classes'])
    params = dict(source='mmqsd.datasets.synthetic_cifar', kind=kind, num_train=num_train,
                  num_test=num_test, seed=seed)

    def write(root: str) -> dict:
        rng = np.random.default_rng(seed)
        folder = osp.join(root, dataset.base_folder)
        os.makedirs(folder)
        train_names = [name for name, _ in dataset.train_list]
        parts = dict(zip(train_names, np.array_split(np.arange(num_train), len(train_names))))
        parts[dataset.test_list[0][0]] = np.arange(num_test)
        md5 = {}
        for name, index in parts.items():
            labels = index % num_classes
            with open(osp.join(folder, name), 'wb') as f:
                pickle.dump(_batch(kind, labels, rng, name), f)
            md5[name] = _md5(osp.join(folder, name))
        meta_key = dataset.meta['key']
        meta = {meta_key: list(dataset.METAINFO['classes'])}
        if kind == 'cifar100':
            meta['coarse_label_names'] = [f'coarse_{i}' for i in range(20)]
        with open(osp.join(folder, dataset.meta['filename']), 'wb') as f:
            pickle.dump(meta, f)
        md5[dataset.meta['filename']] = _md5(osp.join(folder, dataset.meta['filename']))
        counts = dict(train=num_train, test=num_test)
        return dict(classes=list(dataset.METAINFO['classes']), counts=counts,
                    md5=md5)

    return write_dataset(out_dir, params, write, force)


class _GeneratedBatchesMixin:
    """Check the batches against the md5 sums in ``<data_root>/meta.json``."""
    kind = ''  # a key of KINDS

    def __init__(self, data_root: str = '', split: str = 'train', **kwargs):
        meta, kind = read_meta(data_root), self.kind
        if meta is None or meta.get('params', {}).get('kind') != kind:
            raise FileNotFoundError(
                f'{data_root!r} holds no generated {kind} data (no meta.json from '
                f"make_synthetic_cifar); for the real data set use type='{KINDS[kind].__name__}'")
        md5 = meta['md5']
        self.train_list = [[name, md5[name]] for name, _ in self.train_list]
        self.test_list = [[name, md5[name]] for name, _ in self.test_list]
        self.meta = dict(self.meta, md5=md5[self.meta['filename']])
        kwargs['download'] = False
        super().__init__(data_root=data_root, split=split, **kwargs)


@DATASETS.register_module()
class SyntheticCIFAR10(_GeneratedBatchesMixin, CIFAR10):
    """mmpretrain's CIFAR10 on batches written by :func:`make_synthetic_cifar`."""
    kind = 'cifar10'


@DATASETS.register_module()
class SyntheticCIFAR100(_GeneratedBatchesMixin, CIFAR100):
    """mmpretrain's CIFAR100 on batches written by :func:`make_synthetic_cifar`."""
    kind = 'cifar100'
