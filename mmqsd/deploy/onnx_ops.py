"""ONNX forms of the exact integer operations, as ``torch.autograd.Function``s.

Each function computes in PyTorch what the deployed integer form computes
(exact integer sums, then the same float32 epilogue, :func:`apply_epilogue`)
and tells ``torch.onnx.export`` (TorchScript exporter) which standard ONNX
operators compute it (``symbolic``):

==========================  ===================================================
operation                   ONNX operators
==========================  ===================================================
:class:`ConvIntegerOp`      ``ConvInteger`` (uint8 counts x uint8 ``Q(w) + 128``
                            with ``w_zero_point = 128``: int32 sums of
                            ``n * Q(w)``), ``Cast``, ``Mul`` scale, ``Add`` bias
:class:`MatMulIntegerOp`    ``MatMulInteger`` (uint8 counts x int8 ``Q(w)^T``),
                            ``Cast``, ``Mul``, ``Add``
:class:`IELIFOp`            ``Mul`` gain, ``Clip(0, levels)``, ``Add 0.5``,
                            ``Floor``, ``Cast`` to uint8 (QSD Eq. 9)
:class:`CountMatMulOp`      ``MatMulInteger`` (uint8 x uint8) or ``Cast`` +
                            int32 ``MatMul`` (uint8 counts x int32 sums)
==========================  ===================================================

``ConvInteger`` takes the shifted uint8 weight because that is the type
combination every ONNX Runtime release implements (int8 weights only in
recent ones); the zero point makes it the same integer sum.  A synapse with a
fused IE-LIF ends in the neuron's ops, so uint8 counts leave it.
"""
from typing import Sequence

import torch
import torch.nn.functional as F

from ..ops import counts_from_potential
from ..ops.int8_kernels import Epilogue, apply_epilogue

#: ``w_zero_point`` of the shifted uint8 weights fed to ``ConvInteger``.
WEIGHT_ZERO_POINT = 128


def shifted_weight(weight: torch.Tensor) -> torch.Tensor:
    """int8 ``Q(w)`` as uint8 ``Q(w) + 128`` (:data:`WEIGHT_ZERO_POINT`), exact."""
    if weight.dtype != torch.int8:
        raise TypeError(f'integer weights must be int8, got {weight.dtype}')
    return (weight.to(torch.int16) + WEIGHT_ZERO_POINT).to(torch.uint8)


def _constant(g, value, dtype):
    return g.op('Constant', value_t=torch.tensor(value, dtype=dtype))


def _neuron_symbolic(g, u, levels: int):
    """``Cast<uint8>(Floor(Clip(u, 0, levels) + 0.5))`` (counts_from_potential)."""
    u = g.op('Clip', u, _constant(g, 0.0, torch.float32), _constant(g, float(levels),
                                                                     torch.float32))
    u = g.op('Floor', g.op('Add', u, _constant(g, 0.5, torch.float32)))
    return g.op('Cast', u, to_i=2)  # TensorProto.UINT8


def _epilogue_symbolic(g, acc, scale, bias, levels: int):
    y = g.op('Add', g.op('Mul', g.op('Cast', acc, to_i=1), scale), bias)  # 1: FLOAT
    return _neuron_symbolic(g, y, levels) if levels else y


def _epilogue(scale, bias, levels: int) -> Epilogue:
    return Epilogue(scale, bias, levels or None)


class ConvIntegerOp(torch.autograd.Function):
    """``epilogue(conv(counts, Q(w)))`` for uint8 counts ``(N, C, *S)`` (1 or 2 spatial axes),
    ``weight_u8 = Q(w) + 128`` ``(O, C / groups, *K)``, ``scale`` / ``bias`` float32 shaped
    ``(1, O, 1[, 1])``.  Returns float32 ``(N, O, *S')``, or uint8 counts if ``levels > 0``."""

    @staticmethod
    def forward(ctx, counts, weight_u8, scale, bias, stride: Sequence[int],
                padding: Sequence[int], dilation: Sequence[int], groups: int, levels: int):
        conv = F.conv2d if counts.dim() == 4 else F.conv1d
        weight = weight_u8.double() - WEIGHT_ZERO_POINT
        acc = conv(counts.double(), weight, None, stride, padding, dilation, groups)  # exact
        return apply_epilogue(acc, _epilogue(scale, bias, levels), 1)

    @staticmethod
    def symbolic(g, counts, weight_u8, scale, bias, stride, padding, dilation, groups, levels):
        acc = g.op('ConvInteger', counts, weight_u8, _constant(g, 0, torch.uint8),
                   _constant(g, WEIGHT_ZERO_POINT, torch.uint8), strides_i=list(stride),
                   pads_i=list(padding) * 2, dilations_i=list(dilation), group_i=groups)
        return _epilogue_symbolic(g, acc, scale, bias, levels)


class MatMulIntegerOp(torch.autograd.Function):
    """``epilogue(counts @ Q(w)^T)`` for uint8 counts ``(..., K)``, int8 ``weight_t``
    ``(K, O)``, float32 ``scale`` / ``bias`` ``(O,)``.  float32 ``(..., O)`` or uint8
    counts if ``levels > 0``."""

    @staticmethod
    def forward(ctx, counts, weight_t, scale, bias, levels: int):
        acc = counts.double() @ weight_t.double()  # exact
        return apply_epilogue(acc, _epilogue(scale, bias, levels), -1)

    @staticmethod
    def symbolic(g, counts, weight_t, scale, bias, levels):
        acc = g.op('MatMulInteger', counts, weight_t, _constant(g, 0, torch.uint8),
                   _constant(g, 0, torch.int8))
        return _epilogue_symbolic(g, acc, scale, bias, levels)


class IELIFOp(torch.autograd.Function):
    """IE-LIF counts (QSD Eq. 9) of a float potential ``v``: uint8
    ``clip(floor(gain * v + 0.5), 0, levels)``."""

    @staticmethod
    def forward(ctx, v, gain: float, levels: int):
        return counts_from_potential(v * gain if gain != 1.0 else v.clone(), levels)

    @staticmethod
    def symbolic(g, v, gain, levels):
        if gain != 1.0:
            v = g.op('Mul', v, _constant(g, gain, torch.float32))
        return _neuron_symbolic(g, v, levels)


class CountMatMulOp(torch.autograd.Function):
    """int32 ``a @ b`` of uint8 counts ``a`` and uint8 counts or int32 sums ``b``
    (Q-SDSA's ``k^T v`` and ``q (k^T v)``, QSD Eq. 6), exact."""

    @staticmethod
    def forward(ctx, a, b):
        return (a.double() @ b.double()).to(torch.int32)

    @staticmethod
    def symbolic(g, a, b):
        if b.type().scalarType() == 'Byte':  # uint8 counts
            return g.op('MatMulInteger', a, b, _constant(g, 0, torch.uint8),
                        _constant(g, 0, torch.uint8))
        return g.op('MatMul', g.op('Cast', a, to_i=6), b)  # 6: INT32


def check_counts(x: torch.Tensor, where: str) -> None:
    """Raise unless ``x`` holds uint8 counts (what the integer ONNX operators read)."""
    if x.dtype != torch.uint8:
        raise TypeError(f'{where}: spike counts of dtype {x.dtype} have no exact integer ONNX '
                        'operator (uint8 counts, levels <= 127, are exported)')
