"""Tests for mmqsd.utils.compat: safe loading of training checkpoints, atomic saving."""
import os
import pickle

import mmengine.runner
import mmengine.runner.checkpoint
import mmengine.runner.runner
import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmqsd  # noqa: F401  applies the fixes
from mmqsd.utils import compat


class _Reduces:
    """Pickles as ``func(*args)``: how a malicious checkpoint runs code."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _save(obj, path):
    torch.save(obj, path)
    return path


def test_training_checkpoint_loads_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('mmqsd_test_compat')
    for step in range(3):
        hub.update_scalar('train/loss', 1.0 / (step + 1))
    hub.update_scalar('val/acc', np.float64(0.5))
    ckpt = dict(meta=dict(epoch=1, iter=3), state_dict={'w': torch.ones(2)},
                message_hub=hub.state_dict())
    loaded = torch.load(_save(ckpt, tmp_path / 'ckpt.pth'), weights_only=True)
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.mean() == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert buffer.statistics('current') == pytest.approx(1 / 3)


@pytest.mark.parametrize('payload', [
    _Reduces(os.getcwd),                             # a global outside the allow-list
    _Reduces(getattr, HistoryBuffer, '__init__'),   # getattr beyond the statistics methods
    _Reduces(getattr, np.ndarray, 'tofile'),           # getattr on another allowed class
])
def test_other_pickled_code_is_still_rejected(tmp_path, payload):
    path = _save({'x': payload}, tmp_path / 'evil.pth')
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


# Every plain-data numpy type a metric, the message hub or a hook can leave in a checkpoint.
NUMPY_DATA_TYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                    np.uint32, np.uint64, np.float16, np.float32, np.float64, np.longdouble,
                    np.complex64, np.complex128, np.str_, np.bytes_]


@pytest.mark.parametrize('scalar_type', NUMPY_DATA_TYPES, ids=lambda t: t.__name__)
def test_every_numpy_data_scalar_and_array_loads(tmp_path, scalar_type):
    """save_best writes e.g. ``best_score = np.float32(...)`` (mmseg's mIoU): it must load."""
    value = scalar_type(1) if scalar_type not in (np.str_, np.bytes_) else scalar_type('mIoU')
    array = np.array([value, value])
    ckpt = dict(meta=dict(), message_hub=dict(runtime_info=dict(best_score=value, rows=array)))
    loaded = torch.load(_save(ckpt, tmp_path / 'best.pth'), weights_only=True)
    info = loaded['message_hub']['runtime_info']
    assert type(info['best_score']) is scalar_type and info['best_score'] == value
    assert info['rows'].dtype == array.dtype and np.array_equal(info['rows'], array)


def test_issue_reproducer_float32_best_score(tmp_path):
    loaded = torch.load(_save({'best_score': np.float32(8.1)}, tmp_path / 'p.pth'))
    assert loaded['best_score'] == np.float32(8.1)


class _Arbitrary:
    """A class no allow-list names."""

    def __init__(self):
        self.x = 1


@pytest.mark.parametrize('payload', [
    np.array([os.getcwd, 1], dtype=object),  # object arrays pickle arbitrary objects
    np.array(['a', None], dtype=object),
    os.getcwd,                               # a pickled function
    _Arbitrary(),                            # an arbitrary class
], ids=['object-array-function', 'object-array', 'function', 'class'])
def test_non_data_objects_are_refused(tmp_path, payload):
    path = _save({'x': payload}, tmp_path / 'bad.pth')
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_object_dtype_is_not_allowed():
    allowed = torch.serialization.get_safe_globals()
    assert type(np.dtype(object)) not in allowed
    assert {type(np.dtype(t)) for t in NUMPY_DATA_TYPES} <= set(allowed)


def test_only_the_listed_globals_are_added():
    added = torch.serialization.get_safe_globals()
    for item in compat.checkpoint_safe_globals():
        assert item in added
    assert getattr not in added  # only the narrow stand-in, under getattr's name
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        compat.history_buffer_getattr(np, 'load')


def test_save_checkpoint_is_wrapped_everywhere_mmengine_binds_it():
    wrapped = mmengine.runner.checkpoint.save_checkpoint
    assert wrapped.mmqsd_atomic
    assert mmengine.runner.save_checkpoint is wrapped
    assert mmengine.runner.runner.save_checkpoint is wrapped
    compat.apply()  # idempotent
    assert mmengine.runner.checkpoint.save_checkpoint is wrapped


def test_interrupted_save_keeps_the_old_checkpoint(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'previous checkpoint')
    with pytest.raises(Exception):
        mmengine.runner.save_checkpoint({'bad': lambda: None}, str(target))  # unpicklable
    assert target.read_bytes() == b'previous checkpoint'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth']


def test_save_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / 'sub' / 'epoch_2.pth'
    mmengine.runner.save_checkpoint({'w': torch.arange(3)}, str(target))
    mmengine.runner.save_checkpoint({'w': torch.arange(4)}, str(target))
    assert torch.equal(torch.load(target)['w'], torch.arange(4))
    assert os.listdir(target.parent) == ['epoch_2.pth']


def test_allow_list_ignores_dtypes_other_packages_register_later():
    """ml_dtypes (imported by onnx) adds float8 & co. to numpy's sctypeDict after mmqsd's
    import; the allow-list is numpy's own plain-data types, whenever it is computed."""
    pytest.importorskip('ml_dtypes')
    allowed = torch.serialization.get_safe_globals()
    for item in compat.checkpoint_safe_globals():
        assert item in allowed
    assert all(c.__module__.startswith('numpy') for c in compat.numpy_data_dtype_classes())
