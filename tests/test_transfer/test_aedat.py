"""AEDAT 2.0 reading (mmqsd.datasets.aedat) on files written in the exact on-disk format."""
import numpy as np
import pytest

from mmqsd.datasets.aedat import (EmptyRecordingError, EventFileError, decode_dvs128,
                                  encode_dvs128, read_aedat2)
from mmqsd.datasets.event_frames import cifar10dvs_events
from mmqsd.datasets.synthetic_dvs import HEADER, synthetic_events, write_aedat2, write_recording


def test_dvs128_address_bits():
    # bit 0: polarity (0 = ON), bits 1-7: x, bits 8-14: y
    assert encode_dvs128([5], [7], [1]).tolist() == [(7 << 8) | (5 << 1)]
    x, y, on = decode_dvs128(np.array([(7 << 8) | (5 << 1) | 1, 0x7FFE], dtype=np.uint32))
    assert x.tolist() == [5, 127] and y.tolist() == [7, 127] and on.tolist() == [0, 1]
    with pytest.raises(ValueError, match='0..127'):
        encode_dvs128([128], [0], [1])


def test_file_layout_is_header_then_big_endian_pairs(tmp_path):
    path = str(tmp_path / 'r.aedat')
    write_aedat2(path, np.array([10, 20]), np.array([0x0102, 0x0304]))
    data = open(path, 'rb').read()
    header = ''.join(f'{line}\r\n' for line in HEADER).encode()
    assert data.startswith(b'#!AER-DAT2.0\r\n') and data[:len(header)] == header
    assert data[len(header):] == bytes.fromhex('00000102' '0000000a' '00000304' '00000014')


def test_read_gives_the_written_events_back(tmp_path):
    t, x, y, p = synthetic_events(3, 500, np.random.default_rng(0))
    path = str(tmp_path / 'r.aedat')
    write_recording(path, t, x, y, p)
    raw = read_aedat2(path)
    assert len(raw.addr) == 500 and np.array_equal(raw.t, t)
    events = cifar10dvs_events(path)  # upright frame coordinates, p = 1 for ON
    for got, want in zip(events, (t, x, y, p)):
        assert np.array_equal(got, want)


def test_file_without_header_is_read(tmp_path):
    path = str(tmp_path / 'bare.aedat')
    write_aedat2(path, np.array([1, 2, 3]), np.array([4, 6, 8]), header=())
    assert read_aedat2(path).addr.tolist() == [4, 6, 8]


def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / 'cut.aedat'
    write_aedat2(str(path), np.arange(4), np.arange(4))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(EventFileError, match=r'cut\.aedat: truncated or corrupt.*multiple of 8'):
        read_aedat2(str(path))


def test_empty_recording_is_reported(tmp_path):
    path = str(tmp_path / 'empty.aedat')
    write_aedat2(path, np.zeros(0), np.zeros(0))
    with pytest.raises(EmptyRecordingError, match=r'empty\.aedat: empty recording'):
        read_aedat2(path)


@pytest.mark.parametrize('content,match', [
    (b'#!AER-DAT2.0\r\n# a header cut off', 'truncated header'),
    (b'#!AER-DAT3.1\r\n#!END-HEADER\r\n' + bytes(8), 'AEDAT 3.1'),
    (b'#!Version 4.0\r\n' + bytes(8), 'AEDAT 3.x/4.x'),
])
def test_corrupt_or_foreign_files_name_the_file(tmp_path, content, match):
    path = tmp_path / 'bad.aedat'
    path.write_bytes(content)
    with pytest.raises(EventFileError, match=match) as err:
        read_aedat2(str(path))
    assert 'bad.aedat' in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(EventFileError, match='no such event file'):
        read_aedat2(str(tmp_path / 'nope.aedat'))


# --- Files that are not DVS recordings (issue 14, item 2) ---------------------------------------

JAER_HEADER = b'#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n'


def _events(n=500, seed=0):
    """Raw ``(t, addr)`` of a plausible DVS128 recording: time-ordered (0..60 ms, so that
    timestamps also fit in 16 bits), random pixels and polarities."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 60_000, n))
    return t, encode_dvs128(rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n))


def _event_bytes(t, addr):
    events = np.empty(len(addr), dtype=[('addr', '>u4'), ('t', '>u4')])
    events['addr'], events['t'] = addr, t
    return events.tobytes()


def _refused(tmp_path, content, match, name='bad.aedat'):
    """``content`` as a file: read_aedat2 and the data pipeline both refuse it, naming it."""
    from mmqsd.datasets.event_frames import load_polarity_frames
    path = tmp_path / name
    path.write_bytes(content)
    for read in (read_aedat2, lambda p: load_polarity_frames(p, 10)):
        with pytest.raises(EventFileError, match=match) as err:
            read(str(path))
        assert str(err.value).startswith(str(path) + ':')
    return str(err.value)


def test_issue_inputs_are_refused(tmp_path):
    # an 8000-byte file of zero bytes (was: 1000 "events" on one pixel at t = 0)
    _refused(tmp_path, bytes(8000), 'all 8000 bytes are zero')
    # a valid header followed by zeroed event bytes
    _refused(tmp_path, JAER_HEADER + bytes(8000), '1000 consecutive events of zero bytes')
    # the last header line ends in a bare CR, or has no line end: events would be swallowed
    t, addr = _events()
    body = _event_bytes(t, addr)
    _refused(tmp_path, JAER_HEADER + b'# created today\r' + body, 'ends in a bare CR')
    _refused(tmp_path, JAER_HEADER + b'# created today' + body, 'runs into binary data')


@pytest.mark.parametrize('content, match', [
    (b'', '0-byte file'),
    (b'<!DOCTYPE html><html><body>404 Not Found</body></html>\n', 'HTML/XML page'),
    (b'PK\x03\x04' + bytes(100), 'zip archive.*unpack it'),
    (b'\x1f\x8b\x08' + bytes(100), 'gzip'),
    (b'version https://git-lfs.github.com/spec/v1\noid sha256:ab\n', 'git lfs pull'),
    (b'#!AER-DAT2.0\r\n# cut off\r', 'truncated header.*bare CR'),
])
def test_failed_downloads_and_foreign_files_are_named(tmp_path, content, match):
    _refused(tmp_path, content, match)


def test_damaged_event_sections_are_refused(tmp_path):
    t, addr = _events(800)
    # a zero-filled block inside a valid recording (a damaged copy)
    body = bytearray(_event_bytes(t, addr))
    body[4000:4100] = bytes(100)
    message = _refused(tmp_path, JAER_HEADER + bytes(body), 'consecutive events of zero bytes')
    assert f'from byte {len(JAER_HEADER) + 4000}' in message
    # addresses of another sensor (a DAVIS writes x, y and type flags in bits 12-31)
    davis = addr.astype(np.uint64) << 12
    _refused(tmp_path, JAER_HEADER + _event_bytes(t, davis.astype(np.uint32)),
             'addresses use bits above the 16 of a DVS128')
    # one flipped high bit in one address
    flipped = addr.copy()
    flipped[400] |= 1 << 24
    _refused(tmp_path, JAER_HEADER + _event_bytes(t, flipped), r'1 of 800 addresses.*event 400')
    # filler: every event at the same time
    _refused(tmp_path, JAER_HEADER + _event_bytes(np.full(800, 7), addr), 'same timestamp')
    # events out of time order: shuffled, or misaligned by 4 bytes (addresses read as times)
    shuffled = np.random.default_rng(1).permutation(t)
    _refused(tmp_path, JAER_HEADER + _event_bytes(shuffled, addr), 'go back in time')
    _refused(tmp_path, JAER_HEADER + _event_bytes(t, addr)[4:] + bytes(4), 'go back in time')


def test_legitimate_recordings_are_not_refused(tmp_path):
    """What jAER writes is read unchanged: a 32-bit wrap, a timestamp reset, special events."""
    _, addr = _events(1000)
    t = np.arange(1000, dtype=np.int64) * 5 + 1000
    t[600:] = (2**32 - 500 + np.arange(400) * 5) % 2**32  # the 32-bit counter wraps at 700
    t[900:] = np.arange(100) * 3  # a timestamp reset back to 0
    t[10], t[11] = t[11], t[10] + 1  # one out-of-order pair (jAER reads these with a warning)
    addr[0], t[0] = 0, 0  # pixel (0, 0), ON, at t = 0: one all-zero event
    addr[5] |= 0x8000  # an external-input ("special") event
    path = tmp_path / 'real.aedat'
    path.write_bytes(JAER_HEADER + _event_bytes(t, addr))
    raw = read_aedat2(str(path))
    assert np.array_equal(raw.t, t.astype(np.uint32)) and np.array_equal(raw.addr, addr)
    lf = tmp_path / 'lf.aedat'  # LF-only line ends are line ends too
    lf.write_bytes(JAER_HEADER.replace(b'\r\n', b'\n') + _event_bytes(t, addr))
    assert np.array_equal(read_aedat2(str(lf)).addr, addr)


def _spikingjelly_cifar10dvs(path):
    """SpikingJelly's CIFAR10-DVS decoding, restated from its documented behaviour.

    Skips lines starting with ``#`` (``readline``), reads the rest as big-endian
    uint32 pairs (address, timestamp), takes x = (addr & 0xFE) >> 1,
    y = (addr & 0x7F00) >> 8, polarity = addr & 1 and returns
    ``t, x = 127 - y, y = 127 - x, p = 1 - polarity``.
    """
    with open(path, 'rb') as f:
        skip = 0
        line = f.readline()
        while line.strip()[:1] == b'#':
            skip += len(line)
            line = f.readline()
        f.seek(skip)
        words = np.frombuffer(f.read(), dtype='>u4')
    addr, t = words[::2], words[1::2]
    x, y, polarity = (addr & 0xFE) >> 1, (addr & 0x7F00) >> 8, addr & 1
    return t, 127 - y, 127 - x, 1 - polarity


def test_reads_event_for_event_as_spikingjelly(tmp_path):
    """A file written to the jAER spec (header, big-endian 32-bit address + 32-bit timestamp,
    DVS128 bit layout) gives SpikingJelly's events exactly, special events included."""
    import struct
    rng = np.random.default_rng(5)
    n = 2000
    x, y, bit = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
    special = rng.random(n) < 0.01
    addresses = (y << 8) | (x << 1) | bit | np.where(special, 0x8000, 0)
    times = np.cumsum(rng.integers(0, 50, n)) + 123_456
    path = tmp_path / 'jaer.aedat'
    with open(path, 'wb') as f:
        f.write(b'#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n'
                b'# Data format is int32 address, int32 timestamp (8 bytes total), repeated for '
                b'each event\r\n# Timestamps tick is 1 us\r\n# created Mon Jan 16 2017\r\n')
        for a, ts in zip(addresses.tolist(), times.tolist()):
            f.write(struct.pack('>II', a, ts))
    ours = cifar10dvs_events(str(path))
    for got, want in zip(ours, _spikingjelly_cifar10dvs(str(path))):
        assert np.array_equal(got, want.astype(np.int64))
    assert len(ours.t) == n
