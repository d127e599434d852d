"""Compatibility fixes for the OpenMMLab 2.x stack on recent torch, applied on ``import mmqsd``.

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
3. mmseg 1.2.2's ``SegLocalVisualizer`` draws class names with
   ``cv2.rectangle`` on ``np.zeros_like(image)``, which keeps the memory
   layout of ``image``; OpenCV (every release that supports numpy 2, 5.x
   included) cannot draw in place on a non-contiguous array ("Layout of the
   output array img is incompatible with cv::Mat").  mmseg's own
   ``browse_dataset`` passes such an image (a channel-flipped view of the
   CHW tensor; open upstream as mmsegmentation issue #3405).
   :func:`contiguous_seg_drawing` hands the drawing a contiguous copy.
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


#: numpy dtype kinds whose values are plain data: bool, signed and unsigned integers,
#: floats, complex numbers, unicode and byte strings.  Object arrays (kind ``'O'``) are
#: left out on purpose: they pickle arbitrary Python objects.
PLAIN_DATA_DTYPE_KINDS = 'biufcUS'


def numpy_data_dtype_classes() -> list:
    """The dtype classes (numpy >= 2: ``numpy.dtypes.Float32DType`` ...) of every plain-data
    numpy scalar type, see :data:`PLAIN_DATA_DTYPE_KINDS`.

    Under numpy 2 a pickled ``dtype`` names its class, so each class a checkpoint
    can hold must be on the allow-list: metrics return ``np.float32`` (mmseg's
    mIoU over float32 areas), ``np.float64``, ``np.int64`` or ``np.bool_`` values
    that mmengine stores as they are (``best_score`` of ``save_best``, the
    message hub's runtime information and history buffers).
    """
    # numpy's own types only: packages such as ml_dtypes (pulled in by onnx) register
    # more scalar types in sctypeDict when they are imported, after mmqsd's import.
    scalar_types = {t for t in np.sctypeDict.values()
                    if t.__module__ == 'numpy' and np.dtype(t).kind in PLAIN_DATA_DTYPE_KINDS}
    return sorted({type(np.dtype(t)) for t in scalar_types}, key=lambda c: c.__name__)


def checkpoint_safe_globals() -> list:
    """The globals an mmengine training checkpoint pickles besides tensors.

    The message hub's ``HistoryBuffer`` and the runtime information (e.g. the
    ``best_score`` a ``save_best`` checkpoint hook records) hold numpy arrays
    (pickled as ``_reconstruct(ndarray, ...)`` plus a ``dtype`` whose class is
    checked too) and numpy scalars (``scalar``) of any plain-data type
    (:func:`numpy_data_dtype_classes`), and the buffers' statistics methods
    (``getattr``, allowed only through :func:`history_buffer_getattr`).
    Checkpoints written under numpy 1.x name ``numpy.core.multiarray``, so
    those aliases are allowed as well.  Object arrays, functions and any other
    class stay refused.
    """
    multiarray = np._core.multiarray
    numpy_funcs = [(func, f'{module}.{func.__name__}')
                   for func in (multiarray._reconstruct, multiarray.scalar)
                   for module in ('numpy._core.multiarray', 'numpy.core.multiarray')]
    return [HistoryBuffer, (history_buffer_getattr, 'builtins.getattr'), np.ndarray, np.dtype,
            *numpy_funcs, *numpy_data_dtype_classes()]


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


def contiguous_seg_drawing() -> None:
    """Make ``SegLocalVisualizer._draw_sem_seg`` draw on a contiguous copy of its image."""
    from mmseg.visualization import SegLocalVisualizer
    draw = SegLocalVisualizer._draw_sem_seg
    if getattr(draw, 'mmqsd_contiguous', False):
        return

    @functools.wraps(draw)
    def wrapper(self, image, *args, **kwargs):
        return draw(self, np.ascontiguousarray(image), *args, **kwargs)

    wrapper.mmqsd_contiguous = True
    SegLocalVisualizer._draw_sem_seg = wrapper


def apply() -> None:
    """Apply every fix in this module (idempotent)."""
    allow_mmengine_checkpoints()
    make_checkpoint_saving_atomic()
    contiguous_seg_drawing()
