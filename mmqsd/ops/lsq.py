"""LSQ weight fake-quantisation (QSD paper Eq. 4-5; Esser et al. 2020).

``w_hat = s * round(clip(w / s, -2^(b-1), 2^(b-1) - 1))`` with a learnable
per-output-channel step ``s``.  Rounding uses a straight-through estimator and
the step's gradient is scaled by ``g = 1 / sqrt(numel(w) * Qp)`` as in LSQ, so
``d w_hat / d s = round(w/s) - w/s`` inside the clip range and ``Qn``/``Qp``
outside it, and ``d w_hat / d w = 1`` inside the range, 0 outside.

Deliberate difference from the authors' code (``quan_w.py``): the step is
initialised *per channel* to ``2 * mean|w_c| / sqrt(Qp)`` (LSQ's rule applied
per channel) instead of one scalar broadcast to every channel, because
depthwise kernels of very different magnitudes share a tensor here.
"""
import math
from typing import Optional, Tuple

import torch

SUPPORTED_WEIGHT_BITS = tuple(range(2, 9))


def check_weight_bits(bits: Optional[int]) -> Optional[int]:
    """Validate a weight bit width (``None`` means full precision)."""
    if bits is None:
        return None
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in SUPPORTED_WEIGHT_BITS:
        raise ValueError(
            f'weight_bits={bits!r} is not supported: use an int in '
            f'{SUPPORTED_WEIGHT_BITS[0]}..{SUPPORTED_WEIGHT_BITS[-1]} for LSQ-quantised '
            'weights, or None for full-precision weights.')
    return bits


def signed_range(bits: int) -> Tuple[int, int]:
    """``(Qn, Qp)`` of a signed ``bits``-bit integer: (-2^(b-1), 2^(b-1) - 1)."""
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity in the backward pass."""
    return x + (torch.round(x) - x).detach()


def scale_grad(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Return ``x`` whose gradient is multiplied by ``scale``."""
    scaled = x * scale
    return (x - scaled).detach() + scaled


def _per_channel(step: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return step.view(-1, *([1] * (weight.dim() - 1)))


def lsq_init_step(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-channel LSQ step ``2 * mean|w_c| / sqrt(Qp)`` (never zero)."""
    _, qp = signed_range(bits)
    mean_abs = weight.detach().abs().flatten(1).mean(1)
    return (2 * mean_abs / math.sqrt(qp)).clamp_min(1e-8)


class _LSQFunction(torch.autograd.Function):
    """Eq. 4-5 in one op: saves only ``weight`` and ``step`` (parameters kept anyway)
    and recomputes ``w / s`` in backward, instead of the ~4 weight-sized
    intermediates the composed STE expression keeps for backward."""

    @staticmethod
    def forward(ctx, weight, step, qn: int, qp: int, grad_scale: float):
        ctx.save_for_backward(weight, step)
        ctx.qn, ctx.qp, ctx.grad_scale = qn, qp, grad_scale
        channel_step = _per_channel(step, weight)
        return torch.div(weight, channel_step).clamp_(qn, qp).round_().mul_(channel_step)

    @staticmethod
    def backward(ctx, grad):
        weight, step = ctx.saved_tensors
        ratio = weight / _per_channel(step, weight)
        inside = torch.ge(ratio, ctx.qn).logical_and_(torch.le(ratio, ctx.qp))
        grad_weight = torch.mul(grad, inside)
        # d w_hat / d s: round(w/s) - w/s inside the clip range, Qn / Qp outside
        ratio = torch.where(inside, ratio.round() - ratio, ratio.clamp(ctx.qn, ctx.qp))
        grad_step = (grad * ratio).flatten(1).sum(1) * ctx.grad_scale
        return grad_weight, grad_step, None, None, None


def lsq_fake_quant(weight: torch.Tensor, step: torch.Tensor, bits: int) -> torch.Tensor:
    """Eq. 4: quantise ``weight`` to ``bits`` bits with per-channel ``step``.

    Gradients (Eq. 5, straight-through): 1 for ``weight`` inside the clip
    range, 0 outside; for the step ``round(w/s) - w/s`` inside, ``Qn``/``Qp``
    outside, times ``g = 1 / sqrt(numel(w) * Qp)``.
    """
    qn, qp = signed_range(bits)
    return _LSQFunction.apply(weight, step, qn, qp, 1.0 / math.sqrt(weight.numel() * qp))


def lsq_integer_weights(weight: torch.Tensor, step: torch.Tensor, bits: int) -> torch.Tensor:
    """The integers ``Q(w)`` of Eq. 4 (as int8), so that ``w_hat = step * Q(w)``."""
    qn, qp = signed_range(bits)
    q = torch.round(torch.clamp(weight.detach() / _per_channel(step.detach(), weight), qn, qp))
    return q.to(torch.int8)
