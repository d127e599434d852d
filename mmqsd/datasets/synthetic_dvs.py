"""A few synthetic CIFAR10-DVS recordings, written in the published on-disk format.

The real data (10 x 1000 AEDAT 2.0 files, see :mod:`mmqsd.datasets.aedat`)
cannot be downloaded on an offline machine, so tests and demos write small
files in exactly that format::

    <out>/<class>/cifar10_<class>_<i>.aedat     jAER header lines (CRLF) + big-endian
                                                (address, timestamp) pairs, DVS128 addresses
    <out>/frames_number_<T>_split_by_number/<class>/cifar10_<class>_<i>.npz
                                                the same recordings integrated into
                                                SpikingJelly-style frame archives
    <out>/meta.json                             written last (params, per-split counts)

Each recording is a bar through the centre of the 128x128 sensor, at an
angle set by the class (18 degrees apart), that sweeps sideways over time:
ON events on its leading edge, OFF events on its trailing edge, plus a few
per cent uniform noise events.  Everything is drawn from
``numpy.random.default_rng(seed)``.
"""
import os
import os.path as osp

import numpy as np
from mmpretrain.datasets.categories import CIFAR10_CATEGORIES

from ..utils.progress import track
from .aedat import DVS128_SIZE, encode_dvs128
from .cifar10_dvs import convert_to_frame_archive, train_test_split
from .demo_data import GENERATORS, write_dataset

HEADER = ('#!AER-DAT2.0',
          '# This is a raw AE data file - do not edit',
          '# Data format is int32 address, int32 timestamp (8 bytes total), '
          'repeated for each event',
          '# Timestamps tick is 1 us',
          '# written by mmqsd.datasets.synthetic_dvs (synthetic CIFAR10-DVS-like recording)')


def write_aedat2(path: str, t: np.ndarray, addr: np.ndarray, header=HEADER) -> None:
    """Write an AEDAT 2.0 file: ``#`` header lines (CRLF), then big-endian addr/timestamp."""
    events = np.empty(len(addr), dtype=[('addr', '>u4'), ('t', '>u4')])
    events['addr'], events['t'] = addr, t
    with open(path, 'wb') as f:
        f.write(''.join(f'{line}\r\n' for line in header).encode('ascii'))
        f.write(events.tobytes())


def synthetic_events(label: int, num_events: int, rng: np.random.Generator):
    """Frame-coordinate events ``(t, x, y, p)`` of one recording of class ``label``."""
    size = DVS128_SIZE
    angle = np.pi * label / len(CIFAR10_CATEGORIES)
    along = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-np.sin(angle), np.cos(angle)])
    t = np.sort(rng.integers(0, 300_000, num_events))  # ~0.3 s, microseconds
    sweep = (t / max(int(t[-1]), 1) - 0.5) * 40  # the bar moves 40 px along its normal
    p = rng.integers(0, 2, num_events)
    offset = sweep + np.where(p == 1, 1.5, -1.5) + rng.normal(0, 1, num_events)
    pos = (size / 2 + rng.uniform(-40, 40, num_events)[:, None] * along
           + offset[:, None] * normal)
    noise = rng.random(num_events) < 0.05
    pos[noise] = rng.uniform(0, size, (int(noise.sum()), 2))
    x, y = (np.clip(np.round(pos[:, i]), 0, size - 1).astype(np.int64) for i in (0, 1))
    return t, x, y, p


def write_recording(path: str, t, x, y, p) -> None:
    """Write frame-coordinate events as a CIFAR10-DVS ``.aedat`` file.

    Inverts the orientation of :func:`mmqsd.datasets.event_frames.cifar10dvs_events`
    (``x = 127 - y_sensor``, ``y = 127 - x_sensor``), so reading gives the events back.
    """
    top = DVS128_SIZE - 1
    write_aedat2(path, t, encode_dvs128(top - y, top - x, p))


def make_synthetic_cifar10dvs(out_dir: str, per_class: int = 10, num_events: int = 3000,
                              frames: int = 10, seed: int = 0, force: bool = False) -> dict:
    """Write ``per_class`` recordings per class (and frame archives if ``frames``); return meta."""
    if per_class < 10 or num_events < 20 or frames < 0:
        raise ValueError('need per_class >= 10 (for a 9:1 train/test split), num_events >= 20 '
                         'and frames >= 0 (0: no frame archive)')
    params = dict(source='mmqsd.datasets.synthetic_dvs', per_class=per_class,
                  num_events=num_events, frames=frames, seed=seed)

    def write(root: str) -> dict:
        rng = np.random.default_rng(seed)
        for name in CIFAR10_CATEGORIES:
            os.makedirs(osp.join(root, name))
        recordings = [(label, name, i) for label, name in enumerate(CIFAR10_CATEGORIES)
                      for i in range(per_class)]
        for label, name, i in track(recordings, 'cifar10dvs demo: recordings'):
            n = int(rng.integers(num_events // 2, num_events * 3 // 2))
            path = osp.join(root, name, f'cifar10_{name}_{i}.aedat')
            write_recording(path, *synthetic_events(label, n, rng))
        if frames:
            archive = osp.join(root, f'frames_number_{frames}_split_by_number')
            convert_to_frame_archive(root, archive, frames)
        train, test = train_test_split([str(i) for i in range(per_class)], 0.9)
        counts = {split: {name: len(part) for name in CIFAR10_CATEGORIES}
                  for split, part in (('train', train), ('test', test))}
        return dict(classes=list(CIFAR10_CATEGORIES), counts=counts)

    return write_dataset(out_dir, params, write, force)


GENERATORS['cifar10dvs'] = make_synthetic_cifar10dvs
