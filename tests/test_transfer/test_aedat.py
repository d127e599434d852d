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
