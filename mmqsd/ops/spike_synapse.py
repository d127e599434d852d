"""Training synapses that read spikes: the forward as an exact int8 product.

A spiking neuron's output is ``a = k / norm`` with integer counts ``k`` (IE-LIF,
QSD Eq. 9: ``0..b``; binary LIF, Eq. 2: ``0..1``), and an LSQ synapse's weight is
``w_hat = s * Q(w)`` with integers ``Q(w)`` (Eq. 4).  So the conv a synapse
computes on spikes is ``(s / norm) * sum(k * Q(w))``: an integer sum, exact in
int32, times one scale per output channel (Appendix D, the same identity the
integer inference form uses).  :func:`spike_conv` computes the forward that way
on the CPU's int8 units (oneDNN u8 x s8: VNNI, AMX) and the backward as the float
convolution's (``d/dx``, ``d/dw_hat``) on ``a`` rebuilt from the saved uint8
counts, so the gradients are those of the plain ``F.conv2d`` and the layer
keeps 1 byte per input element for backward instead of 4.

Spiking neurons mark their outputs with :func:`mark_spikes`; a synapse that
receives a marked tensor takes this route when :func:`int8_training_available`
says the device can (CPU with oneDNN's quantised ops, float32, no autocast, not
tracing or compiling, and :func:`use_int8_training` not switched off).
"""
import contextlib
import math
from typing import Optional, Sequence

import torch

from .int8_kernels import Epilogue, Int8Conv2d, onednn_available

_SPIKE_NORM = '_mmqsd_spike_norm'
_enabled = True


@contextlib.contextmanager
def use_int8_training(enabled: bool):
    """Switch the int8 forward of spike-input training synapses on or off inside the
    ``with`` block (off: plain ``F.conv2d`` on the multi-bit spikes, e.g. to compare)."""
    global _enabled
    previous, _enabled = _enabled, bool(enabled)
    try:
        yield
    finally:
        _enabled = previous


def is_tracing() -> bool:
    """Whether ``torch.jit.trace`` or ``torch.compile`` is capturing the running code."""
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


#: the largest count a uint8 input of the int8 kernels holds
MAX_UINT8_COUNT = 255


def mark_spikes(output: torch.Tensor, norm: float, max_count: int) -> torch.Tensor:
    """Record on a neuron's ``output`` that it holds ``k / norm`` with integer ``k`` in
    ``0..max_count``; returns ``output`` (unchanged).  Nothing is recorded while tracing,
    nor for ``max_count`` above 255 (counts a uint8 cannot hold)."""
    if not is_tracing() and max_count <= MAX_UINT8_COUNT:
        setattr(output, _SPIKE_NORM, (float(norm), output._version))
    return output


def spike_norm(x: torch.Tensor) -> Optional[float]:
    """The ``norm`` :func:`mark_spikes` recorded on ``x``, or None (also when ``x`` was
    changed in place since, so its values may no longer be spikes; changes through
    ``x.data`` bypass PyTorch's version counter and are not seen)."""
    mark = getattr(x, _SPIKE_NORM, None)
    if mark is None or mark[1] != x._version:
        return None
    return mark[0]


def int8_training_available(x: torch.Tensor) -> bool:
    """Whether :func:`spike_conv` can run for input ``x`` (see the module docstring)."""
    return (_enabled and x.device.type == 'cpu' and x.dtype == torch.float32
            and not torch.is_autocast_enabled('cpu') and not is_tracing()
            and onednn_available())


def _counts(x: torch.Tensor, norm: float) -> torch.Tensor:
    """uint8 ``k = round(a * norm)`` of spikes ``a = k / norm``, in ``x``'s memory layout
    (a power-of-two ``norm`` scales exactly, so no rounding pass is needed)."""
    scaled = x.mul(norm)
    if math.frexp(norm)[0] != 0.5:
        scaled.add_(0.5)  # truncation below rounds to nearest
    return scaled.to(torch.uint8)


def _memory_format(t: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if t.dim() == 4 and not t.is_contiguous() \
        and t.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format


class _SpikeConv2dFunction(torch.autograd.Function):
    """The forward on int8 kernels (they read channels-last uint8 counts and write
    channels-last outputs; layouts are converted back to ``x``'s), the backward as
    ``F.conv2d``'s on the spikes rebuilt from the saved counts."""

    @staticmethod
    def forward(ctx, x, w_hat, q, step, bias, stride, padding, dilation, groups, norm):
        counts = _counts(x, norm)
        epilogue = Epilogue(step.detach().div(norm).contiguous(),
                            None if bias is None else bias.detach())
        y = Int8Conv2d(q, stride, padding, dilation, groups)(counts, epilogue)
        ctx.save_for_backward(counts, w_hat)
        ctx.conf = (stride, padding, dilation, groups, norm, bias is not None)
        return y.contiguous(memory_format=_memory_format(x))

    @staticmethod
    def backward(ctx, grad):
        counts, w_hat = ctx.saved_tensors
        stride, padding, dilation, groups, norm, has_bias = ctx.conf
        # depthwise backward runs ~2x faster channels last on CPU, dense convs in any layout
        layout = torch.channels_last if groups > 1 else _memory_format(grad)
        x = counts.to(torch.float32, memory_format=layout).div_(norm)  # the spikes, exactly
        needs = ctx.needs_input_grad
        grad_x, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad.contiguous(memory_format=layout), x, w_hat,
            [w_hat.shape[0]] if has_bias else None, stride, padding, dilation, False,
            [0] * len(stride), groups, [needs[0], needs[1], has_bias and needs[4]])
        if grad_x is not None:
            grad_x = grad_x.contiguous(memory_format=_memory_format(grad))
        return grad_x, grad_w, None, None, grad_b, None, None, None, None, None


def spike_conv(x: torch.Tensor, norm: float, w_hat: torch.Tensor, q: torch.Tensor,
               step: torch.Tensor, bias: Optional[torch.Tensor], stride: Sequence[int],
               padding: Sequence[int], dilation: Sequence[int], groups: int) -> torch.Tensor:
    """``F.conv2d(x, w_hat, bias, ...)`` for spikes ``x = k / norm``, ``(N, C, H, W)``
    (or ``F.conv1d`` for ``(N, C, L)``), with ``w_hat = step * q`` (QSD Eq. 4).

    Args:
        x: spikes ``k / norm``, ``k`` integer in 0..255 (float32).
        norm: the neuron's output divisor.
        w_hat: the LSQ weight ``(O, C / groups, *kernel)`` (differentiable).
        q: ``Q(w)`` as int8, same shape; ``step``: ``(O, )`` per-channel LSQ step.
        bias: ``(O, )`` or None (differentiable).

    Returns the conv output (float32, channels last for 2-D); gradients flow to ``x``,
    ``w_hat`` and ``bias`` as for the float conv.
    """
    if x.dim() == 3:  # conv1d as a conv2d of height 1
        y = _SpikeConv2dFunction.apply(x.unsqueeze(2), w_hat.unsqueeze(2), q.unsqueeze(2),
                                       step, bias, (1, ) + tuple(stride), (0, ) + tuple(padding),
                                       (1, ) + tuple(dilation), groups, norm)
        return y.squeeze(2)
    return _SpikeConv2dFunction.apply(x, w_hat, q, step, bias, tuple(stride), tuple(padding),
                                      tuple(dilation), groups, norm)
