"""Compatibility fixes for mmengine 0.10.7 on recent torch, applied on ``import mmqsd``.

1. ``torch.load`` defaults to ``weights_only=True`` since torch 2.6, and
   mmengine 0.10.7 calls it without the argument.  Model weights still load,
   but a full training checkpoint (what ``--resume`` reads) also pickles the
   message hub's :class:`~mmengine.logging.HistoryBuffer` objects, which hold
   numpy arrays, and is refused.  Rather than switching the safe loader off
   (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` or ``weights_only=False``), we add
   exactly those classes to torch's allow-list, so any other pickled object in
   a downloaded checkpoint is still rejected.  The buffers also pickle
   ``getattr``; the loader gets a stand-in that resolves only their methods.
   (Fixed upstream in mmengine PR #1670, unreleased at the time of writing.)
2. mmengine's ``save_checkpoint`` writes the target file in place, so a run
   killed while saving leaves a truncated ``epoch_N.pth`` that ``--resume``
   then fails on.  :func:`atomic_save_checkpoint` wraps it: local files are
   written to a hidden temporary file next to the target and moved into place
   with :func:`os.replace`; other back ends (pavi, petrel, ...) are untouched.
"""
import functools
import os
import os.path as osp
import pickle

import mmengine.runner
import mmengine.runner.checkpoint
import mmengine.runner.runner
import numpy as np
import torch
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.logging import HistoryBuffer


#: HistoryBuffer methods a checkpoint may name (see :func:`history_buffer_getattr`).
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_getattr(obj, name: str):
    """Stand-in for ``getattr`` while unpickling: resolves HistoryBuffer statistics only.

    ``HistoryBuffer.__getstate__`` pickles its statistics methods, which
    pickle refers to as ``getattr(HistoryBuffer, 'mean')``.  Allowing the real
    ``getattr`` would let a checkpoint reach any attribute of any allowed
    object, so the loader gets this narrow version instead.
    """
    allowed = set(HISTORY_BUFFER_STATISTICS) | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) in a checkpoint: with weights_only=True, '
        'mmqsd only allows the HistoryBuffer statistics methods')


def checkpoint_safe_globals() -> list:
    """The globals an mmengine training checkpoint pickles besides tensors.

    The message hub's ``HistoryBuffer`` stores float64/int64 numpy arrays
    (pickled as ``_reconstruct(ndarray, ...)`` plus a ``dtype`` whose class is
    checked too), numpy scalars (``scalar``) and its statistics methods
    (``getattr``, allowed only through :func:`history_buffer_getattr`).
    Checkpoints written under numpy 1.x name ``numpy.core.multiarray``, so
    those aliases are allowed as well.
    """
    multiarray = np._core.multiarray
    numpy_funcs = [(func, f'{module}.{func.__name__}')
                   for func in (multiarray._reconstruct, multiarray.scalar)
                   for module in ('numpy._core.multiarray', 'numpy.core.multiarray')]
    dtype_classes = [type(np.dtype(t)) for t in (np.float64, np.int64)]
    return [HistoryBuffer, (history_buffer_getattr, 'builtins.getattr'), np.ndarray, np.dtype,
            *numpy_funcs, *dtype_classes]


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read mmengine training checkpoints."""
    torch.serialization.add_safe_globals(checkpoint_safe_globals())


def atomic_save_checkpoint(save_checkpoint):
    """Wrap mmengine's ``save_checkpoint`` so local files are replaced atomically."""
    if getattr(save_checkpoint, 'mmqsd_atomic', False):
        return save_checkpoint

    @functools.wraps(save_checkpoint)
    def wrapper(checkpoint, filename, file_client_args=None, backend_args=None):
        filename = os.fspath(filename)
        local = (file_client_args is None and not filename.startswith('pavi://') and
                 isinstance(get_file_backend(filename, backend_args=backend_args), LocalBackend))
        if not local:
            return save_checkpoint(checkpoint, filename, file_client_args, backend_args)
        folder, name = osp.split(osp.abspath(filename))
        tmp = osp.join(folder, f'.{name}.{os.getpid()}.tmp')
        try:
            save_checkpoint(checkpoint, tmp, backend_args=backend_args)
            os.replace(tmp, filename)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)

    wrapper.mmqsd_atomic = True
    return wrapper


def make_checkpoint_saving_atomic() -> None:
    """Install :func:`atomic_save_checkpoint` wherever mmengine binds the name.

    ``Runner.save_checkpoint`` uses the name imported into
    ``mmengine.runner.runner``; ``CheckpointHook`` imports it from
    ``mmengine.runner`` when saving the best checkpoint.
    """
    wrapped = atomic_save_checkpoint(mmengine.runner.checkpoint.save_checkpoint)
    for module in (mmengine.runner.checkpoint, mmengine.runner, mmengine.runner.runner):
        module.save_checkpoint = wrapped


def apply() -> None:
    """Apply every fix in this module (idempotent)."""
    allow_mmengine_checkpoints()
    make_checkpoint_saving_atomic()
