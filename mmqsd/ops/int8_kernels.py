"""Prepared int8 synapses for exact integer inference.

A synapse fed by spike counts computes ``y = channel_scale * sum(n * Q(w)) + bias``
with ``n`` the uint8 counts (0..b) and ``Q(w)`` the int8 weights; the sum is
exact in int32.  Optionally the IE-LIF neuron that reads ``y`` (and nothing
else does) is fused into the epilogue: the synapse then emits the neuron's
uint8 counts ``clamp(round(gain * y), 0, levels)`` (QSD Eq. 9) instead of ``y``.

Two backends compute the same integers:

* ``'onednn'`` (x86 CPU): oneDNN's u8 x s8 convolution and inner product
  (VNNI / AMX instructions, no im2col) with scale, bias and neuron in the
  kernel's epilogue.  oneDNN rounds ties (``gain * y`` exactly ``k + 1/2``) to
  even where the multi-bit model rounds half up; the fp32 model's own rounding
  error of ``y`` is larger than that distinction.
* ``'int_mm'`` (any device with ``torch._int_mm``, e.g. CUDA): an int8 im2col
  GEMM (:mod:`mmqsd.ops.int_gemm`), epilogue in torch ops.  Grouped convs run as
  float convolutions on the integer values, exact below 2^24.

``'auto'`` picks oneDNN on CPUs where PyTorch has it, else ``int_mm``;
:func:`use_int8_backend` forces one (tests, benchmarks).
"""
import contextlib
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F

from .int_gemm import check_float_exact, conv_weight_to_cols, int8_conv2d, int8_matmul
from .spiking import counts_from_potential

INT8_BACKENDS = ('auto', 'onednn', 'int_mm')
_forced_backend = 'auto'


@contextlib.contextmanager
def use_int8_backend(name: str):
    """Run the integer synapses inside the ``with`` block on backend ``name``."""
    global _forced_backend
    if name not in INT8_BACKENDS:
        raise ValueError(f'unknown int8 backend {name!r}; choose one of {INT8_BACKENDS}')
    if name == 'onednn' and not onednn_available():
        raise RuntimeError("int8 backend 'onednn' needs a PyTorch build with oneDNN "
                           "quantised ops (torch.ops.onednn.qconv2d_pointwise); use 'int_mm'")
    previous, _forced_backend = _forced_backend, name
    try:
        yield
    finally:
        _forced_backend = previous


def onednn_available() -> bool:
    ops = getattr(torch.ops, 'onednn', None)
    return torch.backends.mkldnn.is_available() and ops is not None \
        and hasattr(ops, 'qconv2d_pointwise') and hasattr(ops, 'qlinear_pointwise')


def int8_backend(device: torch.device, dtype: torch.dtype = torch.float32) -> str:
    """The backend that runs int8 synapses with ``dtype`` outputs on ``device``
    (oneDNN: CPU, float32 outputs)."""
    if _forced_backend != 'auto':
        return _forced_backend
    usable = device.type == 'cpu' and dtype == torch.float32 and onednn_available()
    return 'onednn' if usable else 'int_mm'


@dataclass(frozen=True)
class Epilogue:
    """What follows the int32 sum: ``y = acc * scale + bias`` per output channel, then,
    if ``levels`` is set, a fused IE-LIF emitting ``clamp(round(y), 0, levels)`` as uint8
    (the neuron's gain is already multiplied into ``scale`` and ``bias``)."""
    scale: torch.Tensor
    bias: Optional[torch.Tensor]
    levels: Optional[int] = None


def apply_epilogue(acc: torch.Tensor, epilogue: Epilogue, channel_dim: int) -> torch.Tensor:
    """The :class:`Epilogue` in torch ops, on an int32 (or integer-valued float) sum."""
    shape = [1] * acc.dim()
    shape[channel_dim] = -1
    y = acc.to(epilogue.scale.dtype) * epilogue.scale.view(shape)
    if epilogue.bias is not None:
        y = y.add_(epilogue.bias.view(shape))
    return y if epilogue.levels is None else counts_from_potential(y, epilogue.levels)


def _onednn_output(epilogue: Epilogue):
    """``(dtype, post-op, scalars)`` of a oneDNN call for ``epilogue``."""
    if epilogue.levels is None:
        return torch.float32, 'none', []
    return torch.uint8, 'hardtanh', [0.0, float(epilogue.levels)]


class _PerScale:
    """A value derived from an epilogue scale tensor (a oneDNN weight pack, the scales
    repeated per step), rebuilt only when that tensor changes (fixed after freezing)."""

    def __init__(self, derive):
        self.derive = derive
        self.key = self.value = None

    def get(self, scale: torch.Tensor):
        key = (scale.data_ptr(), scale._version)
        if key != self.key:
            self.key, self.value = key, self.derive(scale)
        return self.value


class Int8Conv2d:
    """``(N, C, H, W)`` uint8 counts -> conv with int8 ``weight (O, C/groups, kh, kw)``."""

    def __init__(self, weight: torch.Tensor, stride, padding, dilation, groups: int):
        if weight.dtype != torch.int8:
            raise TypeError(f'Int8Conv2d needs int8 weights, got {weight.dtype}')
        self.weight = weight
        self.stride, self.padding, self.dilation = list(stride), list(padding), list(dilation)
        self.groups = groups
        self.zero_points = torch.zeros(weight.shape[0], dtype=torch.int64)
        self._cols = None
        self._packed = _PerScale(lambda scale: torch.ops.onednn.qconv_prepack(
            self.weight, scale, 1.0, 0, self.stride, self.padding, self.dilation, self.groups,
            None))

    def __call__(self, x: torch.Tensor, epilogue: Epilogue) -> torch.Tensor:
        if int8_backend(x.device, epilogue.scale.dtype) == 'onednn':
            return self._onednn(x, epilogue)
        return apply_epilogue(self._integer_sum(x), epilogue, channel_dim=1)

    def _onednn(self, x, epilogue):
        dtype, post_op, scalars = _onednn_output(epilogue)
        x = x.contiguous(memory_format=torch.channels_last)
        return torch.ops.onednn.qconv2d_pointwise(
            x, 1.0, 0, self._packed.get(epilogue.scale), epilogue.scale, self.zero_points,
            epilogue.bias, self.stride, self.padding, self.dilation, self.groups, 1.0, 0, dtype,
            post_op, scalars, '')

    def _integer_sum(self, x):
        weight = self.weight.to(x.device)
        if self.groups == 1:
            if self._cols is None or self._cols.device != x.device:
                self._cols = conv_weight_to_cols(weight)
            return int8_conv2d(x.view(torch.int8), self._cols, weight.shape[2:], self.stride,
                               self.padding, self.dilation)
        check_float_exact(float(x.max()) if x.numel() else 0., 2 ** 7, weight[0].numel())
        return F.conv2d(x.float(), weight.float(), None, self.stride, self.padding,
                        self.dilation, self.groups)


class Int8Linear:
    """``(M, K)`` uint8 counts -> ``(M, O)`` with int8 ``weight (O, K)``."""

    def __init__(self, weight: torch.Tensor):
        if weight.dtype != torch.int8 or weight.dim() != 2:
            raise TypeError(f'Int8Linear needs a 2-D int8 weight, got {weight.dtype} '
                            f'{tuple(weight.shape)}')
        self.weight = weight
        self.zero_points = torch.zeros(weight.shape[0], dtype=torch.int64)
        self._weight_t = None
        self._packed = _PerScale(
            lambda scale: torch.ops.onednn.qlinear_prepack(self.weight, None))

    def __call__(self, x: torch.Tensor, epilogue: Epilogue) -> torch.Tensor:
        if int8_backend(x.device, epilogue.scale.dtype) == 'onednn':
            dtype, post_op, scalars = _onednn_output(epilogue)
            return torch.ops.onednn.qlinear_pointwise(
                x.contiguous(), 1.0, 0, self._packed.get(epilogue.scale), epilogue.scale,
                self.zero_points, epilogue.bias, 1.0, 0, dtype, post_op, scalars, '')
        if self._weight_t is None or self._weight_t.device != x.device:
            self._weight_t = self.weight.to(x.device).t().contiguous()
        return apply_epilogue(int8_matmul(x.view(torch.int8), self._weight_t), epilogue,
                              channel_dim=1)


class Int8DepthwiseSteps:
    """Depthwise conv on ``D`` binary steps per channel (inputs ``c * D + t``).

    Every step channel is filtered on its own (a depthwise conv with ``D``
    times the channels, oneDNN's fast depthwise kernel), then the ``D``
    results of a channel are summed: the same accumulation as one grouped
    conv with ``D`` inputs per group, which oneDNN runs ~1.7x slower.
    """

    def __init__(self, weight: torch.Tensor, stride, padding, dilation, steps: int):
        if weight.shape[1] != 1:
            raise ValueError('Int8DepthwiseSteps needs a depthwise weight (O, 1, kh, kw)')
        self.steps = steps
        self.conv = Int8Conv2d(weight.repeat_interleave(steps, 0), stride, padding, dilation,
                               weight.shape[0] * steps)
        self._step_scales = _PerScale(lambda scale: scale.repeat_interleave(steps))

    def __call__(self, x: torch.Tensor, epilogue: Epilogue) -> torch.Tensor:
        per_step = self.conv(x, Epilogue(self._step_scales.get(epilogue.scale), None))
        rows = per_step.permute(0, 2, 3, 1)  # NHWC view for channels-last outputs
        y = rows.unflatten(-1, (-1, self.steps)).sum(-1)
        if epilogue.bias is not None:
            y = y.add_(epilogue.bias)
        if epilogue.levels is not None:
            y = counts_from_potential(y, epilogue.levels)
        return y.permute(0, 3, 1, 2)
