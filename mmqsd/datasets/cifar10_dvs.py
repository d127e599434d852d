"""CIFAR10-DVS (Li et al. 2017) as an mmpretrain data set (QSD paper, Table 4, Appendix G.4).

Folder layout read (``data_root/data_prefix``)::

    airplane/  automobile/  bird/  cat/  deer/  dog/  frog/  horse/  ship/  truck/
        cifar10_airplane_0.aedat ...      the published recordings (AEDAT 2.0), or
        cifar10_airplane_0.npz   ...      SpikingJelly archives: pre-integrated frames
                                          (frames_number_<T>_split_by_number/) or
                                          events (events_np/)

Each sample is ``dict(img_path=..., gt_label=...)``; the pipeline turns it into
frames (:class:`~mmqsd.datasets.event_transforms.LoadEventFrames`, see
:mod:`mmqsd.datasets.event_frames` for the slicing and channel definition).

Split: CIFAR10-DVS has no official train/test split.  Ours is deterministic:
in every class folder the files are sorted by name (plain string order, as
torchvision's ``DatasetFolder`` lists them) and the first
``ceil(n * train_ratio)`` (900 of 1000 for ``train_ratio=0.9``) are the
training set, the rest the test set.  This is the same split as SpikingJelly's
``split_to_train_test_set(0.9, CIFAR10DVS(...), 10, random_split=False)``; it
differs from the random per-run splits of some SNN code and from the
"samples 0-99 are test" split of TEBN (those give higher accuracies), so
compare numbers only on the same split.
"""
import math
import os
import os.path as osp
from typing import List, Sequence

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.datasets.categories import CIFAR10_CATEGORIES

from ..registry import DATASETS
from ..utils.progress import track
from .event_frames import check_num_frames, load_polarity_frames

SPLITS = ('train', 'test', 'all')
EXTENSIONS = ('.aedat', '.npz')
LAYOUT = ('<root>/<class>/*.aedat (or *.npz) with one folder per class: '
          + ', '.join(CIFAR10_CATEGORIES))


def train_test_split(files: Sequence[str], train_ratio: float):
    """Split one class's files: sorted by name, the first ``ceil(n * ratio)`` train."""
    if not 0 < train_ratio < 1:
        raise ValueError(f'train_ratio must be in (0, 1), got {train_ratio}')
    files = sorted(files)
    cut = math.ceil(len(files) * train_ratio)
    return files[:cut], files[cut:]


def list_class_files(root: str, classes: Sequence[str], extensions: Sequence[str]) -> dict:
    """``{class: [file names]}`` for the class folders under ``root``; clear errors otherwise."""
    if not osp.isdir(root):
        raise FileNotFoundError(f'CIFAR10-DVS folder {root!r} does not exist; expected {LAYOUT}. '
                                'Unpack the published class archives there, or generate test '
                                'data: python tools/misc/make_demo_data.py cifar10dvs --out DIR')
    missing = [c for c in classes if not osp.isdir(osp.join(root, c))]
    if missing:
        raise FileNotFoundError(f'CIFAR10-DVS folder {root!r} lacks the class folders {missing}; '
                                f'expected {LAYOUT}')
    found = {}
    for name in classes:
        files = [f for f in os.listdir(osp.join(root, name)) if f.endswith(tuple(extensions))]
        kinds = {osp.splitext(f)[1] for f in files}
        if not files:
            raise FileNotFoundError(f'{osp.join(root, name)!r} holds no {"/".join(extensions)} '
                                    f'files; expected {LAYOUT}')
        if len(kinds) > 1:
            raise ValueError(f'{osp.join(root, name)!r} mixes {sorted(kinds)} files; keep one kind '
                             "per folder or restrict the dataset's extensions")
        found[name] = files
    return found


@DATASETS.register_module()
class CIFAR10DVS(BaseDataset):
    """CIFAR10-DVS event recordings with the deterministic 9:1 split above.

    Args:
        data_root: folder holding the class folders (with ``data_prefix``).
        split: 'train', 'test' or 'all' (every recording, e.g. for conversion).
        train_ratio: share of each class used for training (0.9).
        data_prefix: sub-folder of ``data_root`` with the class folders, e.g.
            ``'frames_number_10_split_by_number'`` for SpikingJelly's archives.
        extensions: file types that are read.
        **kwargs: :class:`mmpretrain.datasets.BaseDataset` arguments (pipeline, indices ...).
    """

    METAINFO = {'classes': CIFAR10_CATEGORIES}

    def __init__(self, data_root: str = '', split: str = 'train', train_ratio: float = 0.9,
                 data_prefix: str = '', extensions: Sequence[str] = EXTENSIONS, **kwargs):
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if not data_root and not data_prefix:
            raise ValueError('set data_root to the CIFAR10-DVS folder; expected ' + LAYOUT)
        self.split = split
        self.train_ratio = train_ratio
        self.extensions = tuple(extensions)
        kwargs.setdefault('test_mode', split == 'test')
        super().__init__(ann_file='', data_root=data_root, data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        root = osp.normpath(self.img_prefix)
        per_class = list_class_files(root, self.CLASSES, self.extensions)
        data_list = []
        for label, name in enumerate(self.CLASSES):
            train, test = train_test_split(per_class[name], self.train_ratio)
            chosen = dict(train=train, test=test, all=train + test)[self.split]
            data_list.extend(
                dict(img_path=osp.join(root, name, f), gt_label=label) for f in chosen)
        if not data_list:
            raise ValueError(f'the {self.split!r} split of {root!r} is empty: each class has '
                             f'{min(map(len, per_class.values()))}+ files and train_ratio='
                             f'{self.train_ratio} leaves none for it (10 files per class give 9:1)')
        return data_list


def convert_to_frame_archive(src_root: str, out_root: str, num_frames: int = 10) -> int:
    """Integrate every recording under ``src_root`` into SpikingJelly-style frame archives.

    Writes ``out_root/<class>/<name>.npz`` with ``frames`` (T, 2, H, W)
    [OFF, ON] counts, i.e. the ``frames_number_<T>_split_by_number`` layout,
    so that training reads small archives instead of parsing events each
    epoch.  Returns the number of files written.
    """
    check_num_frames(num_frames)
    dataset = CIFAR10DVS(data_root=src_root, split='all', lazy_init=True)
    dataset.full_init()
    for index in track(range(len(dataset)), 'CIFAR10-DVS: recordings to frames'):
        path = dataset.get_data_info(index)['img_path']
        name = osp.basename(osp.dirname(path))
        stem = osp.splitext(osp.basename(path))[0]
        os.makedirs(osp.join(out_root, name), exist_ok=True)
        np.savez_compressed(osp.join(out_root, name, f'{stem}.npz'),
                            frames=load_polarity_frames(path, num_frames))
    return len(dataset)
