"""Event stream -> T frames (mmqsd.datasets.event_frames, QSD Appendix G.4)."""
import os.path as osp

import numpy as np
import pytest

from mmqsd.datasets.aedat import EmptyRecordingError, EventFileError
from mmqsd.datasets.event_frames import (Events, integrate_by_count, load_polarity_frames,
                                         select_channels, slice_bounds)


def _events(n, seed=0, size=8):
    rng = np.random.default_rng(seed)
    return Events(t=np.arange(n), x=rng.integers(0, size, n), y=rng.integers(0, size, n),
                  p=rng.integers(0, 2, n))


def test_slices_have_equal_counts_and_the_last_takes_the_remainder():
    assert np.diff(slice_bounds(103, 10)).tolist() == [10] * 9 + [13]
    assert np.diff(slice_bounds(100, 10)).tolist() == [10] * 10
    frames = integrate_by_count(_events(103), 10, 8, 8)
    assert frames.shape == (10, 2, 8, 8)
    assert frames.sum(axis=(1, 2, 3)).tolist() == [10] * 9 + [13]


def test_each_event_lands_in_its_slice_pixel_and_polarity():
    ev = _events(25)
    frames = integrate_by_count(ev, 5, 8, 8)
    expected = np.zeros_like(frames)
    for i in range(25):
        expected[i // 5, ev.p[i], ev.y[i], ev.x[i]] += 1  # channel 0 OFF, 1 ON
    assert np.array_equal(frames, expected)


def test_channels_on_off_all():
    polarity = integrate_by_count(_events(60), 3, 8, 8)
    frames = select_channels(polarity)  # default ('on', 'off', 'all')
    assert frames.shape == (3, 3, 8, 8) and frames.dtype == np.float32
    assert np.array_equal(frames[:, 0], polarity[:, 1])  # ON
    assert np.array_equal(frames[:, 1], polarity[:, 0])  # OFF
    assert np.array_equal(frames[:, 2], frames[:, 0] + frames[:, 1])
    assert frames[:, 2].sum() == 60
    # SpikingJelly's 2 channels
    assert np.array_equal(select_channels(polarity, ('off', 'on')), polarity)
    with pytest.raises(ValueError, match='channels'):
        select_channels(polarity, ('on', 'both'))


def test_too_few_or_no_events_are_errors():
    with pytest.raises(EmptyRecordingError, match='rec: empty recording'):
        integrate_by_count(_events(0), 10, 8, 8, source='rec')
    with pytest.raises(EventFileError, match='only 7 events, fewer than num_frames=10'):
        integrate_by_count(_events(7), 10, 8, 8)
    with pytest.raises(EventFileError, match='corrupt events'):
        integrate_by_count(_events(20, size=9), 2, 8, 8)


def test_frame_archive_matches_the_recording(dvs_root):
    recording = osp.join(dvs_root, 'cat', 'cifar10_cat_3.aedat')
    archive = osp.join(dvs_root, 'frames_number_10_split_by_number', 'cat', 'cifar10_cat_3.npz')
    frames = load_polarity_frames(recording, 10)
    assert frames.shape == (10, 2, 128, 128)
    assert np.array_equal(load_polarity_frames(archive, 10), frames)
    with pytest.raises(EventFileError, match=r'cifar10_cat_3\.npz: archive holds 10 frames but '
                       'num_frames=4'):
        load_polarity_frames(archive, 4)


def test_event_archive_and_bad_archives(tmp_path, dvs_root):
    from mmqsd.datasets.event_frames import cifar10dvs_events
    ev = cifar10dvs_events(osp.join(dvs_root, 'dog', 'cifar10_dog_0.aedat'))
    events_npz = str(tmp_path / 'events.npz')
    np.savez(events_npz, t=ev.t, x=ev.x, y=ev.y, p=ev.p)  # SpikingJelly's events_np layout
    assert np.array_equal(load_polarity_frames(events_npz, 10),
                          integrate_by_count(ev, 10))
    garbage = tmp_path / 'garbage.npz'
    garbage.write_bytes(b'PK\x03\x04 not really a zip')
    with pytest.raises(EventFileError, match=r'garbage\.npz: corrupt or truncated'):
        load_polarity_frames(str(garbage), 10)
    zeros = str(tmp_path / 'zeros.npz')
    np.savez(zeros, frames=np.zeros((10, 2, 4, 4)))
    with pytest.raises(EmptyRecordingError, match=r'zeros\.npz: empty recording'):
        load_polarity_frames(zeros, 10)
    other = str(tmp_path / 'other.npz')
    np.savez(other, image=np.zeros(3))
    with pytest.raises(EventFileError, match="keys \\['image'\\]"):
        load_polarity_frames(other, 10)
