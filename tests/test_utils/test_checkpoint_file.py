"""mmqsd.utils.checkpoint_file: every damaged, truncated or foreign checkpoint is refused by name.

Issue 14, item 4: a 0-byte file gave a bare EOFError, a truncated one a RuntimeError, a
non-pickle file a hint to pass --trusted (then an UnpicklingError), and a silently corrupted
download loaded.
"""
import argparse
import os
import pickle
import re
import shutil
import zipfile

import numpy as np
import pytest
import torch

from mmqsd.utils.checkpoint_file import (LEGACY_MAGIC, CheckpointFileError, check_checkpoint_file,
                                         check_weights_fit, exit_on_bad_checkpoint,
                                         load_checkpoint_file, name_hash_prefix, sha256_of)
from mmqsd.utils.file_kind import describe_file_start

WEIGHTS = torch.arange(1000, dtype=torch.float32)


@pytest.fixture
def good(tmp_path):
    path = tmp_path / 'good.pth'
    torch.save(dict(state_dict=dict(w=WEIGHTS), meta=dict(epoch=1)), path)
    return path


def flip_weight_bit(data: bytes) -> bytes:
    """``data`` with one bit flipped inside the stored weights (a silently damaged copy)."""
    at = data.find(WEIGHTS.numpy().tobytes())
    assert at > 0
    damaged = bytearray(data)
    damaged[at + 400] ^= 1  # 100.0 -> 100.00001: torch.load alone would not notice
    return bytes(damaged)


def refused(path, match, trusted=False):
    """Both the check and the loader refuse ``path`` with a one-line message naming it."""
    for call in (lambda: check_checkpoint_file(str(path)),
                 lambda: load_checkpoint_file(str(path), trusted)):
        with pytest.raises(CheckpointFileError, match=match) as err:
            call()
        message = str(err.value)
        assert message.startswith(f'{path}: ') and '\n' not in message
        assert err.value.path == str(path) and err.value.what and err.value.fix
    return message


def test_a_good_checkpoint_loads(good):
    check_checkpoint_file(str(good))
    assert torch.equal(load_checkpoint_file(str(good))['state_dict']['w'], WEIGHTS)


def test_missing_empty_and_truncated_files(tmp_path, good):
    refused(tmp_path / 'nope.pth', 'no such file; check the path')
    refused(tmp_path, 'a folder')
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    refused(empty, r'empty file \(0 bytes\).*download or copy it again')
    data = good.read_bytes()
    for cut in (len(data) // 2, len(data) - 1, 10):
        truncated = tmp_path / f'cut{cut}.pth'
        truncated.write_bytes(data[:cut])
        refused(truncated, 'truncated: the zip directory at the end of the file is missing')


def test_changed_bytes_fail_the_crc_check(tmp_path, good):
    damaged = tmp_path / 'damaged.pth'
    damaged.write_bytes(flip_weight_bit(good.read_bytes()))
    assert torch.load(damaged, weights_only=True)['state_dict']['w'][100] != 100  # silent in torch
    refused(damaged, r"damaged: record '.*data/0' does not match the CRC-32")


@pytest.mark.parametrize('content, match', [
    (b'<!DOCTYPE html>\n<html><body>403 Forbidden</body></html>', 'HTML/XML page'),
    (b'{"error": "not found"}', 'JSON text'),
    (b'version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9\n', 'git lfs pull'),
    (b'\x1f\x8b\x08\x00' + bytes(60), 'gzip-compressed file; unpack it'),
    (bytes(257) + b'ustar' + bytes(250), 'tar archive; unpack it'),
    (pickle.dumps({'w': 1}, protocol=4), 'a Python pickle'),
    (b'just some text', 'starts with neither signature of a torch.save file'),
])
def test_foreign_files_are_named(tmp_path, content, match):
    path = tmp_path / 'model.pth'
    path.write_bytes(content)
    message = refused(path, 'not a PyTorch checkpoint')
    assert re.search(match, message), message
    refused(path, 'not a PyTorch checkpoint', trusted=True)  # --trusted does not help


def test_a_zip_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / 'weights.pth'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('model/weights.bin', b'x' * 10)
    refused(path, 'a zip archive without a data.pkl record')


def test_hash_in_the_name_is_checked(tmp_path, good):
    digest = sha256_of(str(good))
    named = tmp_path / f'qsd_t-{digest[:8]}.pth'
    shutil.copy(good, named)
    check_checkpoint_file(str(named))  # the right hash
    long_name = tmp_path / f'qsd_t-{digest[:16]}.pth'
    shutil.copy(good, long_name)
    check_checkpoint_file(str(long_name))
    named.write_bytes(flip_weight_bit(good.read_bytes()))
    message = refused(named, f'corrupted: its SHA-256 is .*, but its name promises {digest[:8]}')
    assert 'if "-' in message  # says what to do if the suffix is no hash
    other = tmp_path / 'qsd_t-deadbeef.pth'
    shutil.copy(good, other)
    refused(other, 'promises deadbeef')


@pytest.mark.parametrize('name, prefix', [
    ('qsd_t_in1k-3fa2c1d0.pth', '3fa2c1d0'),
    ('resnet50_8xb32_in1k_20210831-ea4938fc.pth', 'ea4938fc'),
    ('qsd_t-20250101.pth', None),  # decimal digits only: a date, not a hash
    ('qsd_t-abc.pth', None),  # too short
    ('qsd_t-3FA2C1D0.pth', None),  # OpenMMLab writes lower case
    ('epoch_12.pth', None),
    ('qsd_t-3fa2c1d0.pth.tar', None),
])
def test_which_names_promise_a_hash(name, prefix):
    assert name_hash_prefix(f'/some/dir/{name}') == prefix


def test_legacy_format_and_its_truncation(tmp_path):
    legacy = tmp_path / 'legacy.pth'
    torch.save(dict(w=WEIGHTS), legacy, _use_new_zipfile_serialization=False)
    assert legacy.read_bytes().startswith(LEGACY_MAGIC)
    assert torch.equal(load_checkpoint_file(str(legacy))['w'], WEIGHTS)
    cut = tmp_path / 'legacy_cut.pth'
    cut.write_bytes(legacy.read_bytes()[:-50])
    check_checkpoint_file(str(cut))  # not detectable without unpickling ...
    with pytest.raises(CheckpointFileError, match='damaged or truncated: it does not unpickle'):
        load_checkpoint_file(str(cut))  # ... which the loader does


def test_pickled_objects_need_trusted_and_garbage_is_refused_even_then(tmp_path):
    objects = tmp_path / 'authors.pth'
    torch.save(dict(model=dict(w=WEIGHTS), args=argparse.Namespace(lr=1.0)), objects)
    with pytest.raises(CheckpointFileError,
                       match='pickled Python objects besides tensors such as argparse.Namespace; '
                       '.*pass --trusted'):
        load_checkpoint_file(str(objects))
    assert load_checkpoint_file(str(objects), trusted=True)['args'].lr == 1.0
    garbage = tmp_path / 'garbage.pth'  # starts like a legacy checkpoint, then random bytes
    garbage.write_bytes(LEGACY_MAGIC + np.random.default_rng(0).bytes(300))
    for trusted in (False, True):
        with pytest.raises(CheckpointFileError, match='damaged or truncated') as err:
            load_checkpoint_file(str(garbage), trusted)
        assert '--trusted' not in str(err.value)


@pytest.mark.parametrize('payload', [os.getcwd, argparse.ArgumentParser],
                         ids=['function', 'class'])
def test_any_refused_global_gets_the_trusted_hint(tmp_path, payload):
    """torch words its refusal differently for classes and for functions of blocked modules;
    both are objects the user may trust, not damage."""
    path = tmp_path / 'objects.pth'
    torch.save(dict(w=WEIGHTS, extra=payload), path)
    with pytest.raises(CheckpointFileError, match='pickled Python objects.*pass --trusted'):
        load_checkpoint_file(str(path))


def test_remote_names_are_left_to_mmengine():
    check_checkpoint_file('https://download.openmmlab.com/x/model-00000000.pth')
    check_checkpoint_file('open-mmlab://resnet50')


def test_exit_on_bad_checkpoint(tmp_path, good):
    exit_on_bad_checkpoint(None)
    exit_on_bad_checkpoint(str(good))
    with pytest.raises(SystemExit) as err:
        exit_on_bad_checkpoint(str(tmp_path / 'missing.pth'))
    assert err.value.code == f'error: {tmp_path / "missing.pth"}: no such file; check the path, ' \
        'or get or convert the checkpoint first (docs/model_zoo.md)'


def test_describe_file_start_knows_nothing_of_plain_binary():
    assert describe_file_start(bytes(range(1, 64))) is None
    assert describe_file_start(b'\xef\xbb\xbf  <html>').what.startswith('an HTML')


class _Net(torch.nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.backbone = torch.nn.Linear(3, width)
        self.head = torch.nn.Linear(width, 2)


@pytest.mark.parametrize('state, match', [
    ({'foo': torch.ones(1)}, 'none of its 1 weight tensors has a name of this model'),
    ({}, 'none of its 0 weight tensors'),
    (_Net(width=8).state_dict(), r'3 of its weights have other shapes.*backbone\.bias: \(8,\)'),
], ids=['unknown-keys', 'no-tensors', 'other-width'])
def test_weights_of_another_model_are_refused(tmp_path, state, match):
    """tools/test.py: mmengine would load these with strict=False and score random weights."""
    path = tmp_path / 'other.pth'
    torch.save({'meta': {}, 'state_dict': state}, path)
    with pytest.raises(CheckpointFileError, match=match):
        check_weights_fit(_Net(), str(path))


def test_fitting_and_partial_weights_pass(tmp_path):
    net = _Net()
    full = tmp_path / 'full.pth'
    torch.save({'state_dict': {'module.' + k: v for k, v in net.state_dict().items()}}, full)
    check_weights_fit(net, str(full))  # a DDP prefix is ignored
    partial = tmp_path / 'backbone.pth'
    torch.save({k: v for k, v in net.state_dict().items() if k.startswith('backbone')}, partial)
    check_weights_fit(net, str(partial))  # left to mmengine's warning
