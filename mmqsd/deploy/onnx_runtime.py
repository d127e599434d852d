"""Run exported ONNX files in ONNX Runtime: sessions, checks against a config, verification.

:class:`OnnxModel` opens a file written by :func:`~mmqsd.deploy.onnx_export.export_onnx`
(fixed input shape ``(B, 3, H, W)``, input ``'inputs'``), checks it against what a
config feeds it and runs any number of images in chunks of ``B``.
:func:`verify_onnx` compares a file with mmqsd's PyTorch integer form
(:func:`~mmqsd.deploy.to_integer_inference`) on the same inputs.
"""
import importlib
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

INSTALL_HINT = 'pip install -e .[deploy]  (or: make install)'


def require_onnxruntime(as_exit: bool = False):
    """Import ``onnx`` and ``onnxruntime`` (the ``[deploy]`` extra) and return
    ``onnxruntime``; if either is missing raise ``ImportError`` saying how to install
    them (``SystemExit`` with the same message if ``as_exit``: command-line tools)."""
    try:
        importlib.import_module('onnx')
        import onnxruntime
    except ImportError as error:
        message = f'ONNX deployment needs onnx and onnxruntime: {INSTALL_HINT}'
        if as_exit:
            raise SystemExit(message) from error
        raise ImportError(message) from error
    return onnxruntime


class OnnxModel:
    """An ONNX Runtime session (CPU) on an exported mmqsd file.

    ``threads``: intra-op threads (None: ONNX Runtime's default).  Attributes:
    ``input_name``, ``input_shape`` ``(B, C, H, W)``, ``output_names``, ``form``
    and ``task`` (from the file's metadata, None for foreign files).
    """

    def __init__(self, path: str, threads: Optional[int] = None):
        ort = require_onnxruntime()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.path = path
        self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        (inp, ) = self.session.get_inputs()
        self.input_name, self.input_shape = inp.name, list(inp.shape)
        self.output_names = [o.name for o in self.session.get_outputs()]
        meta = self.session.get_modelmeta().custom_metadata_map
        self.form, self.task = meta.get('mmqsd_form'), meta.get('mmqsd_task')

    def check(self, task: Optional[str] = None, image_shape: Optional[Sequence[int]] = None,
              num_classes: Optional[int] = None) -> None:
        """Raise ``ValueError`` if the file does not take ``'inputs'`` of ``(3, H, W)`` images
        of ``image_shape``, was exported for another ``task`` or predicts another number of
        classes (a file exported from another config)."""
        source = f'{self.path} (exported for task={self.task}, input {self.input_shape})'
        if self.input_name != 'inputs':
            raise ValueError(f"{source}: input {self.input_name!r}, expected 'inputs'; export it "
                             'with tools/deploy/export_onnx.py')
        if task and self.task and task != self.task:
            raise ValueError(f'{source}: this config is a {task}; export the file from it')
        if image_shape is not None and list(image_shape) != self.input_shape[1:]:
            raise ValueError(f'{source}: the config feeds images of shape {list(image_shape)}; '
                             'export from this config with --input-size matching its test '
                             'pipeline')
        if num_classes is not None:
            shape = self.session.get_outputs()[0].shape
            if shape[1] != num_classes:
                raise ValueError(f'{source}: it predicts {shape[1]} classes, the config '
                                 f'{num_classes}; export it from this config')

    def __call__(self, inputs) -> List[np.ndarray]:
        """Outputs for ``(N, C, H, W)`` inputs (array or tensor; floats as float32), in chunks of
        the file's batch size (the last one padded with zeros)."""
        x = inputs.detach().cpu().numpy() if isinstance(inputs, torch.Tensor) else inputs
        x = np.ascontiguousarray(x, dtype=np.float32 if x.dtype.kind == 'f' else x.dtype)
        if list(x.shape[1:]) != self.input_shape[1:]:
            raise ValueError(f'{self.path} takes inputs of shape {self.input_shape}, got '
                             f'{list(x.shape)}')
        batch = self.input_shape[0]
        chunks = []
        for start in range(0, len(x), batch):
            chunk = x[start:start + batch]
            size = len(chunk)
            if size < batch:
                chunk = np.concatenate([chunk, np.zeros((batch - size, ) + chunk.shape[1:],
                                                        chunk.dtype)])
            out = self.session.run(self.output_names, {self.input_name: chunk})
            chunks.append([o[:size] for o in out])
        return [np.concatenate(parts) for parts in zip(*chunks)]


def onnx_versions() -> Dict[str, str]:
    """``onnx`` and ``onnxruntime`` versions."""
    import onnx
    return dict(onnx=onnx.__version__, onnxruntime=require_onnxruntime().__version__)


def _outputs(out) -> List[torch.Tensor]:
    return [torch.as_tensor(o) for o in (out if isinstance(out, (tuple, list)) else [out])]


@torch.no_grad()
def verify_onnx(model: nn.Module, path: str, inputs: Dict[str, torch.Tensor],
                threads: Optional[int] = None) -> dict:
    """Run ``path`` in ONNX Runtime and ``model``'s PyTorch reference on each named input.

    The reference is :func:`~mmqsd.deploy.to_integer_inference` for an integer file and
    the model itself for a float one, through the same task wrapper as the export.
    Returns ``dict(max_rel_err, same_top1, max_rel_err_fp32, per_input={name: {...}},
    onnx, onnxruntime)``: ``max_rel_err = max|y_torch - y_ort| / max|y_torch|`` over all
    outputs; ``same_top1``: identical argmax over classes (classifier logits, segmentor
    maps per pixel; None for detector features); ``max_rel_err_fp32``: the same error
    against the fp32 multi-bit model, which tells a count flipped by float rounding in
    the real-valued part of either runtime from a real difference (docs/deployment.md);
    ``spike_counts``: the distinct spike counts the reference's neurons emitted (several
    levels show that the check exercised the neurons).
    """
    from .integer_inference import to_integer_inference
    from .onnx_export import WRAPPERS, task_of
    from .spike_driven import SpikeValueRecorder, max_relative_error
    session = OnnxModel(path, threads)
    task = task_of(model)
    fp32 = WRAPPERS[task](model.eval()).eval()
    reference = WRAPPERS[task](to_integer_inference(model)).eval() \
        if session.form != 'float' else fp32
    per_input = {}
    recorder = SpikeValueRecorder(reference)
    for name, x in inputs.items():
        with recorder:
            expected = _outputs(reference(x))
        got = _outputs(session(x))
        same = None if task == 'detector' else \
            bool(torch.equal(expected[0].argmax(1), got[0].argmax(1)))
        per_input[name] = dict(max_rel_err=max_relative_error(expected, got), same_top1=same,
                               max_rel_err_fp32=max_relative_error(_outputs(fp32(x)), got))
    same = [r['same_top1'] for r in per_input.values()]
    return dict(max_rel_err=max(r['max_rel_err'] for r in per_input.values()),
                same_top1=None if None in same else all(same),
                max_rel_err_fp32=max(r['max_rel_err_fp32'] for r in per_input.values()),
                spike_counts=sorted(recorder.values), per_input=per_input, **onnx_versions())
