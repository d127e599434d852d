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

Bit 15 of a DVS128 address marks jAER's external-input ("special") events;
SpikingJelly's reader decodes them with the same masks as pixel events, and so
does this one (to stay identical to it).  Timestamps are returned as stored,
without undoing a 32-bit wrap (as SpikingJelly does); the frames of
:mod:`mmqsd.datasets.event_frames` slice by event count and do not use them.

What is refused, and why (each raises :class:`EventFileError` naming the
file; what a failed download, a wrong file or a damaged copy leaves):

* **0-byte file, or only zero bytes**: an interrupted download or copy; read
  as events, zero bytes would be one pixel firing at t = 0.
* **Another format**: a file that does not start with ``#`` or a DVS128 event
  and is recognisably something else -- an HTML error page, a zip/tar/gzip
  archive not yet unpacked, ... (:mod:`mmqsd.utils.file_kind`) -- or whose
  header declares AEDAT 3.x/4.x.
* **A header line without its line end**: a ``#`` line that ends in a bare CR
  or that runs into binary bytes (no LF before the events) would swallow the
  events into the header text; jAER ends every line with CRLF.  A header
  that ends before its LF (nothing after it) is a truncated file.
* **An event section that is not whole events**: its length is not a
  multiple of 8 bytes (a truncated copy).  A cut that happens to fall on an
  event boundary cannot be detected: the file just has fewer events.
* **No events** (:class:`EmptyRecordingError`): a header and nothing else.
* **A zero-filled block**: two or more consecutive events of 8 zero bytes.
  A real recording has at most one such event (pixel (0, 0), ON, at t = 0,
  right after a timestamp reset); runs of them are the zero blocks that a
  damaged copy or a sparse, unfinished download leaves.
* **Addresses beyond 16 bits**: the DVS128 sends 16-bit addresses (bits 0-14
  pixel and polarity, bit 15 special), so a higher bit means the bytes are
  not DVS128 events (another sensor's AEDAT 2.0 file, e.g. a DAVIS, or
  garbage).
* **One timestamp for all events** (two or more events): a recording spans
  time; identical timestamps are filler bytes, not events.
* **Timestamps out of order**: events are written in time order; the only
  steps back are a 32-bit wrap (every 71.6 minutes), a jAER timestamp reset,
  and the rare out-of-order event that jAER itself reads with a warning.  So
  only a stream in which more than :data:`MAX_BACKWARD_SHARE` of the steps
  (and more than 2) go back is refused: random bytes, or events misaligned by
  a damaged header, go back about half the time.

Written for mmqsd from the format description above (no code is taken from
those projects).  Errors are :class:`EventFileError` and name the file.
"""
import os.path as osp
from typing import NamedTuple

import numpy as np

from ..utils.file_kind import HEAD_BYTES, describe_file_start

EVENT_DTYPE = np.dtype([('addr', '>u4'), ('t', '>u4')])  # 8 bytes per event
DVS128_SIZE = 128
SUPPORTED_VERSION = '2.0'
#: The largest DVS128 address: 16 bits (pixel, polarity and jAER's special-event bit 15).
DVS128_MAX_ADDRESS = 0xFFFF
#: The share of steps back in time above which a stream is not events in file order.
MAX_BACKWARD_SHARE = 0.1
#: A drop of more than half the 32-bit range between two timestamps is the counter wrapping.
WRAP_DROP = 1 << 31
REEXTRACT = 're-extract the file from the dataset archive'


class EventFileError(ValueError):
    """A recording that cannot be read: truncated, corrupt or of another format."""


class EmptyRecordingError(EventFileError):
    """A recording that holds no events (reported instead of becoming zero frames)."""


class RawEvents(NamedTuple):
    """Events as stored: big-endian addresses and microsecond timestamps, file order."""
    addr: np.ndarray  # uint32
    t: np.ndarray  # uint32, microseconds


def _check_header_line(line: bytes, pos: int, path: str) -> None:
    """Refuse a header line (``line`` without its LF) that ends in a bare CR or holds binary."""
    text = line[:-1] if line.endswith(b'\r') else line
    swallowed = ('so the events after it would be read as header text and dropped; the file '
                 f'is damaged or not an AEDAT 2.0 file written by jAER: {REEXTRACT}')
    if b'\r' in text:
        raise EventFileError(f'{path}: the header line at byte {pos} ends in a bare CR (a '
                             f'carriage return without a line feed), {swallowed}')
    binary = next((i for i, byte in enumerate(text) if byte < 0x20 and byte != 0x09), None)
    if binary is not None:
        raise EventFileError(f'{path}: the header line at byte {pos} runs into binary data '
                             f'(byte 0x{text[binary]:02x} at byte {pos + binary}) without a line '
                             f'end, {swallowed}')


def header_length(data: bytes, path: str) -> int:
    """Byte offset of the first event: the length of the ``#`` header lines.

    Raises:
        EventFileError: a header line that ends in a bare CR or runs into
            binary data (the events would be swallowed), a header cut off
            before its final line feed, or a header of AEDAT 3.x/4.x.
    """
    pos = 0
    while data[pos:pos + 1] == b'#':
        end = data.find(b'\n', pos)
        line = data[pos:] if end < 0 else data[pos:end]
        _check_header_line(line, pos, path)
        if end < 0:
            ending = 'a bare CR' if line.endswith(b'\r') else 'no line feed'
            raise EventFileError(f'{path}: truncated header (the "#" line at byte {pos} ends in '
                                 f'{ending} and nothing follows); the file is cut off or not an '
                                 f'AEDAT file: {REEXTRACT}')
        line = line.strip()
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


def check_dvs128_events(events: RawEvents, path: str, offset: int = 0) -> None:
    """Refuse event bytes that cannot be a DVS128 recording (see the module doc).

    Args:
        events: the decoded event section, in file order.
        path: the file, for the messages.
        offset: byte offset of the first event in the file, for the messages.

    Raises:
        EventFileError: a zero-filled block, an address beyond 16 bits, one
            timestamp for all events, or timestamps out of order in more than
            :data:`MAX_BACKWARD_SHARE` of the steps.
    """
    addr, t = events
    n = len(addr)
    zero = (addr == 0) & (t == 0)
    runs = zero[1:] & zero[:-1]
    if runs.any():
        first = int(np.argmax(runs))
        length = int(np.argmin(zero[first:])) or n - first
        raise EventFileError(
            f'{path}: {length} consecutive events of zero bytes from byte '
            f'{offset + 8 * first} (event {first}): a zero-filled block as a damaged copy or an '
            f'unfinished download leaves, not DVS events; {REEXTRACT}')
    high = addr > DVS128_MAX_ADDRESS
    if high.any():
        first = int(np.argmax(high))
        raise EventFileError(
            f'{path}: {int(high.sum())} of {n} addresses use bits above the 16 of a DVS128 '
            f'(first: event {first} at byte {offset + 8 * first}, address 0x{int(addr[first]):08x}'
            '); not a DVS128 recording (e.g. a DAVIS or other AEDAT 2.0 file) or a damaged copy; '
            'use the CIFAR10-DVS recording: ' + REEXTRACT)
    if n >= 2 and t.min() == t.max():
        raise EventFileError(
            f'{path}: all {n} events have the same timestamp ({int(t[0])} us); a recording spans '
            f'time, so these bytes are filler, not DVS events; {REEXTRACT}')
    steps = np.diff(t.astype(np.int64))
    backward = int(((steps < 0) & (steps > -WRAP_DROP)).sum())
    if backward > max(2, MAX_BACKWARD_SHARE * len(steps)):
        raise EventFileError(
            f'{path}: timestamps go back in time at {backward} of {len(steps)} steps; DVS events '
            'are stored in time order (apart from a 32-bit wrap or a timestamp reset), so these '
            f'bytes are not events in file order (garbage, misaligned, or another format); '
            + REEXTRACT)


def read_aedat2(path: str) -> RawEvents:
    """Read an AEDAT 2.0 DVS128 file into raw addresses and timestamps (file order).

    Returns:
        :class:`RawEvents`: ``addr`` and ``t`` (microseconds, as stored), both
        uint32 arrays of shape (N,).

    Raises:
        EventFileError: a missing file or any input the module doc lists as
            refused (a damaged, truncated or foreign file), naming the file.
        EmptyRecordingError: a file with a header but no events.
    """
    if not osp.isfile(path):
        raise EventFileError(f'{path}: no such event file')
    with open(path, 'rb') as f:
        data = f.read()
    if not data:
        raise EventFileError(f'{path}: 0-byte file, as an interrupted download or copy leaves; '
                             + REEXTRACT)
    if not np.frombuffer(data, dtype=np.uint8).any():
        raise EventFileError(f'{path}: all {len(data)} bytes are zero, a placeholder that a failed '
                             f'download or a damaged copy leaves, not a recording; {REEXTRACT}')
    kind = describe_file_start(data[:HEAD_BYTES]) if data[:1] != b'#' else None
    if kind is not None:
        raise EventFileError(f'{path}: not an AEDAT 2.0 recording but {kind.what}; {kind.fix}')
    start = header_length(data, path)
    size = len(data) - start
    if size % EVENT_DTYPE.itemsize:
        raise EventFileError(
            f'{path}: truncated or corrupt recording: {size} bytes of events after the '
            f'{start}-byte header is not a multiple of {EVENT_DTYPE.itemsize} (4-byte address + '
            f'4-byte timestamp per event); {REEXTRACT}')
    if size == 0:
        raise EmptyRecordingError(f'{path}: empty recording (a {start}-byte header and no '
                                  'events); remove the file or re-extract it from the archive')
    events = np.frombuffer(data, dtype=EVENT_DTYPE, offset=start)
    raw = RawEvents(addr=events['addr'].astype(np.uint32), t=events['t'].astype(np.uint32))
    check_dvs128_events(raw, path, offset=start)
    return raw


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
