"""Reading AEDAT 2.0 event recordings of a DVS128 sensor (the CIFAR10-DVS files).

On-disk format (iniVation's "AEDAT 2.0", written by jAER; CIFAR10-DVS,
Li et al. 2017, ships one such ``.aedat`` file per recording):

* a header of text lines, each starting with ``#`` and ending with ``\\n``
  (jAER writes ``\\r\\n``); the first is normally ``#!AER-DAT2.0``;
* then the events, 8 bytes each, big-endian: a 32-bit address followed by a
  32-bit timestamp in microseconds.

DVS128 address bits (jAER's ``Tmpdiff128`` extractor, the jAER
``loadaerdat.py`` script and SpikingJelly's ``datasets/cifar10_dvs.py`` all use
the same masks)::

    bit  0      polarity bit: 0 = ON (brightness increase), 1 = OFF
    bits 1-7    x (0..127)      x = (addr >> 1) & 0x7F
    bits 8-14   y (0..127)      y = (addr >> 8) & 0x7F

jAER maps the polarity bit as ``ON if (1 - addr) & 1 else OFF``, i.e. a set
bit is an OFF event; SpikingJelly's ``p = 1 - bit`` gives the same ON = 1.

A header line cannot be confused with an event: DVS128 addresses are below
2**16, so the first byte of every event is 0, never ``#``.

Written for mmqsd from the format description above (no code is taken from
those projects).  Errors are :class:`EventFileError` and name the file.
"""
import os.path as osp
from typing import NamedTuple

import numpy as np

EVENT_DTYPE = np.dtype([('addr', '>u4'), ('t', '>u4')])  # 8 bytes per event
DVS128_SIZE = 128
SUPPORTED_VERSION = '2.0'


class EventFileError(ValueError):
    """A recording that cannot be read: truncated, corrupt or of another format."""


class EmptyRecordingError(EventFileError):
    """A recording that holds no events (reported instead of becoming zero frames)."""


class RawEvents(NamedTuple):
    """Events as stored: big-endian addresses and microsecond timestamps, file order."""
    addr: np.ndarray  # uint32
    t: np.ndarray  # uint32, microseconds


def header_length(data: bytes, path: str) -> int:
    """Byte offset of the first event: the length of the ``#`` header lines.

    Raises :class:`EventFileError` for a header that is cut off (no final
    newline) or that declares a format other than AEDAT 2.0.
    """
    pos = 0
    while data[pos:pos + 1] == b'#':
        end = data.find(b'\n', pos)
        if end < 0:
            raise EventFileError(f'{path}: truncated header (a "#" line without a newline at '
                                 f'byte {pos}); the file is cut off or not an AEDAT file')
        line = data[pos:end].strip()
        if line.startswith(b'#!AER-DAT'):
            version = line[len(b'#!AER-DAT'):].decode('ascii', 'replace')
            if not version.startswith('2.'):
                raise EventFileError(f'{path}: AEDAT {version} file; only AEDAT 2.0 (the '
                                     'CIFAR10-DVS recordings, 8-byte big-endian events) is read')
        elif line.startswith(b'#!END-HEADER') or line.startswith(b'#!Version'):
            text = line.decode('ascii', 'replace')
            raise EventFileError(f'{path}: AEDAT 3.x/4.x header ({text}); only AEDAT 2.0 (the '
                                 'CIFAR10-DVS recordings) is read')
        pos = end + 1
    return pos


def read_aedat2(path: str) -> RawEvents:
    """Read an AEDAT 2.0 file into raw addresses and timestamps (file order).

    Raises:
        EventFileError: missing file, bad header, or an event block whose
            length is not a multiple of 8 bytes (a truncated or corrupt file).
        EmptyRecordingError: a file with a header but no events.
    """
    if not osp.isfile(path):
        raise EventFileError(f'{path}: no such event file')
    with open(path, 'rb') as f:
        data = f.read()
    start = header_length(data, path)
    size = len(data) - start
    if size % EVENT_DTYPE.itemsize:
        raise EventFileError(
            f'{path}: truncated or corrupt recording: {size} bytes of events after the '
            f'{start}-byte header is not a multiple of {EVENT_DTYPE.itemsize} (4-byte address + '
            '4-byte timestamp per event); re-extract the file from the dataset archive')
    if size == 0:
        raise EmptyRecordingError(f'{path}: empty recording (a {start}-byte header and no '
                                  'events); remove the file or re-extract it from the archive')
    events = np.frombuffer(data, dtype=EVENT_DTYPE, offset=start)
    return RawEvents(addr=events['addr'].astype(np.uint32), t=events['t'].astype(np.uint32))


def decode_dvs128(addr: np.ndarray):
    """DVS128 address -> sensor ``(x, y, on)``: coordinates 0..127, ``on`` 1 for ON events."""
    addr = np.asarray(addr, dtype=np.uint32)
    x = (addr >> 1) & 0x7F
    y = (addr >> 8) & 0x7F
    on = 1 - (addr & 1)
    return x.astype(np.int64), y.astype(np.int64), on.astype(np.int64)


def encode_dvs128(x: np.ndarray, y: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Inverse of :func:`decode_dvs128` (used to write test recordings)."""
    x, y, on = (np.asarray(a, dtype=np.int64) for a in (x, y, on))
    if ((x < 0) | (x >= DVS128_SIZE) | (y < 0) | (y >= DVS128_SIZE)).any():
        raise ValueError(f'DVS128 coordinates must lie in 0..{DVS128_SIZE - 1}')
    if not np.isin(on, (0, 1)).all():
        raise ValueError('on must be 0 (OFF) or 1 (ON)')
    return ((y << 8) | (x << 1) | (1 - on)).astype(np.uint32)
