"""Event streams -> T frames for CIFAR10-DVS (QSD paper, Appendix G.4).

G.4: "dividing the event stream into T slices, each with an equal number of
events, and compressing these into three-channel frames representing
positive, negative, and all events".

Slicing (SpikingJelly's ``split_by='number'``): with N events in file order
and T frames, frame k (0-based) holds events ``[k * (N // T), (k + 1) * (N // T))``
and the last frame also takes the remainder ``N % T``.  A recording with
fewer than T events is an error (it would give empty frames).

Frame channels, chosen by ``channels`` (default ``('on', 'off', 'all')``)::

    'on'   count of ON (positive, brightness increase) events per pixel
    'off'  count of OFF (negative) events per pixel
    'all'  'on' + 'off'

Values are raw event counts (float32), not normalised.  ``('off', 'on')``
gives the 2-channel frames of SpikingJelly / Spikformer / SDT.  The default
3 channels are the paper's and let the ImageNet stem weights (3 input
channels) load unchanged; they are not the 2-channel convention of most SNN
code.

Orientation: CIFAR10-DVS events are turned upright as SpikingJelly does
(``x = 127 - y_sensor``, ``y = 127 - x_sensor``), so that frames from the
published ``.aedat`` files and from SpikingJelly's pre-integrated ``.npz``
archives (``frames`` of shape (T, 2, H, W): channel 0 OFF, channel 1 ON) are
the same arrays.
"""
import zipfile
from typing import NamedTuple, Sequence, Tuple

import numpy as np

from .aedat import DVS128_SIZE, EmptyRecordingError, EventFileError, decode_dvs128, read_aedat2

CHANNELS = ('on', 'off', 'all')
EVENT_KEYS = ('t', 'x', 'y', 'p')  # SpikingJelly's events_np archives


class Events(NamedTuple):
    """An event stream in frame coordinates: ``p`` is 1 for ON, 0 for OFF."""
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    p: np.ndarray


def check_channels(channels: Sequence[str]) -> Tuple[str, ...]:
    """Validate a frame channel definition such as ``('on', 'off', 'all')``."""
    channels = tuple(channels)
    bad = [c for c in channels if c not in CHANNELS]
    if not channels or bad:
        raise ValueError(f'channels must be a non-empty sequence of {CHANNELS}, got {channels}')
    return channels


def check_num_frames(num_frames: int) -> int:
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f'num_frames must be a positive int, got {num_frames!r}')
    return num_frames


def cifar10dvs_events(path: str) -> Events:
    """Read a CIFAR10-DVS ``.aedat`` recording as upright :class:`Events` (see module doc)."""
    raw = read_aedat2(path)
    x, y, on = decode_dvs128(raw.addr)
    top = DVS128_SIZE - 1
    return Events(t=raw.t.astype(np.int64), x=top - y, y=top - x, p=on)


def slice_bounds(num_events: int, num_frames: int) -> np.ndarray:
    """Start indices of the T equal-count slices plus the end: ``(T + 1,)`` ints."""
    step = num_events // num_frames
    bounds = np.arange(num_frames + 1, dtype=np.int64) * step
    bounds[-1] = num_events  # the last slice takes the remainder
    return bounds


def integrate_by_count(events: Events, num_frames: int, height: int = DVS128_SIZE,
                       width: int = DVS128_SIZE, source: str = 'events') -> np.ndarray:
    """Per-polarity event counts of T equal-count slices: ``(T, 2, H, W)`` float32.

    Channel 0 counts OFF events, channel 1 ON events (SpikingJelly's layout).
    ``source`` names the recording in error messages.
    """
    check_num_frames(num_frames)
    n = len(events.x)
    if n == 0:
        raise EmptyRecordingError(f'{source}: empty recording (no events)')
    if n < num_frames:
        raise EventFileError(f'{source}: only {n} events, fewer than num_frames={num_frames}; '
                             'equal-count slicing would leave frames empty')
    x, y, p = (np.asarray(a, dtype=np.int64) for a in (events.x, events.y, events.p))
    if ((x < 0) | (x >= width) | (y < 0) | (y >= height)).any() or not np.isin(p, (0, 1)).all():
        raise EventFileError(f'{source}: corrupt events: coordinates outside the {height}x{width} '
                             'sensor or polarity other than 0/1')
    frame = np.minimum(np.arange(n) // (n // num_frames), num_frames - 1)
    flat = ((frame * 2 + p) * height + y) * width + x
    counts = np.bincount(flat, minlength=num_frames * 2 * height * width)
    return counts.reshape(num_frames, 2, height, width).astype(np.float32)


def select_channels(polarity_frames: np.ndarray, channels: Sequence[str] = CHANNELS) -> np.ndarray:
    """``(T, 2, H, W)`` [OFF, ON] counts -> ``(T, len(channels), H, W)`` frames."""
    off, on = polarity_frames[:, 0], polarity_frames[:, 1]
    planes = dict(on=on, off=off, all=on + off)
    return np.stack([planes[c] for c in check_channels(channels)], axis=1).astype(np.float32)


def _load_npz(path: str, num_frames: int) -> np.ndarray:
    """A SpikingJelly ``.npz``: ``frames`` (T, 2, H, W) or events ``t, x, y, p``."""
    try:
        with np.load(path) as archive:
            content = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise EventFileError(f'{path}: corrupt or truncated .npz archive ({err})') from err
    if 'frames' in content:
        frames = content['frames']
        if frames.ndim != 4 or frames.shape[1] != 2:
            raise EventFileError(f'{path}: frames of shape {frames.shape}; expected '
                                 '(T, 2, H, W) polarity frames as written by SpikingJelly')
        if frames.shape[0] != num_frames:
            raise EventFileError(f'{path}: archive holds {frames.shape[0]} frames but '
                                 f'num_frames={num_frames}; point data_prefix at the '
                                 f'frames_number_{num_frames}_split_by_number folder or change '
                                 'num_frames')
        if not frames.any():
            raise EmptyRecordingError(f'{path}: empty recording (all frames are zero)')
        return frames.astype(np.float32)
    if set(EVENT_KEYS) <= set(content):
        events = Events(*(content[key] for key in EVENT_KEYS))
        return integrate_by_count(events, num_frames, source=path)
    raise EventFileError(f'{path}: .npz archive with keys {sorted(content)}; expected '
                         "'frames' (pre-integrated) or 't', 'x', 'y', 'p' (events)")


def load_polarity_frames(path: str, num_frames: int) -> np.ndarray:
    """``(T, 2, H, W)`` [OFF, ON] counts from an ``.aedat`` recording or ``.npz`` archive."""
    if path.endswith('.npz'):
        return _load_npz(path, num_frames)
    if path.endswith('.aedat'):
        return integrate_by_count(cifar10dvs_events(path), num_frames, source=path)
    raise EventFileError(f'{path}: unknown event file type; expected .aedat or .npz')
