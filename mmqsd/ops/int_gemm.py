"""Exact integer GEMM / convolution for spike counts x integer weights.

Spike counts (0..b) and b-bit weights are small integers, so ``int8 x int8``
products accumulated in int32 (``torch._int_mm``) are exact and run on the
CPU's / GPU's integer units.  Convolutions are lowered to one GEMM by an
im2col made of ``kh * kw`` shifted int8 views (channels last).  Depthwise and
other grouped convolutions run as float convolutions on the integer-valued
tensors, which is exact as long as every partial sum stays below 2^24
(checked).
"""
import torch
import torch.nn.functional as F

FLOAT32_EXACT = 2 ** 24


def int_mm_supports(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ``torch._int_mm`` takes these shapes: any on CPU; on CUDA it needs
    more than 16 rows and ``K``, ``N`` multiples of 8."""
    if a.device.type == 'cpu':
        return True
    return a.shape[0] > 16 and a.shape[1] % 8 == 0 and b.shape[1] % 8 == 0


def matmul_via_float(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact integer product through a float GEMM: float32 while ``K * 128^2 < 2^24``
    bounds every partial sum, float64 (exact to 2^53) beyond."""
    dtype = torch.float32 if a.shape[1] * 128 * 128 < FLOAT32_EXACT else torch.float64
    return (a.to(dtype) @ b.to(dtype)).to(torch.int32)


def int8_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a (M, K) @ b (K, N)`` for int8 tensors, exact, as int32."""
    a, b = a.contiguous(), b.contiguous()
    return torch._int_mm(a, b) if int_mm_supports(a, b) else matmul_via_float(a, b)


def int8_conv2d(x: torch.Tensor, weight_cols: torch.Tensor, kernel_size, stride, padding,
                dilation) -> torch.Tensor:
    """Dense (groups = 1) conv of int8 ``x (N, C, H, W)`` with int8 weights as int32.

    ``weight_cols`` is the weight laid out as ``(kh * kw * C, O)`` (see
    :func:`conv_weight_to_cols`).  Returns ``(N, O, H', W')`` (channels-last memory).
    """
    kh, kw = kernel_size
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    n, c, h, w = x.shape
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    nhwc = x.permute(0, 2, 3, 1)
    if ph or pw:
        nhwc = F.pad(nhwc, (0, 0, pw, pw, ph, ph))
    if kh == kw == 1:
        cols = nhwc[:, ::sh, ::sw, :]
    else:
        cols = torch.cat([
            nhwc[:, i * dh:i * dh + sh * (out_h - 1) + 1:sh, j * dw:j * dw + sw * (out_w - 1) + 1:sw]
            for i in range(kh) for j in range(kw)
        ], dim=-1)
    out = int8_matmul(cols.reshape(-1, cols.shape[-1]), weight_cols)
    return out.view(n, out_h, out_w, -1).permute(0, 3, 1, 2)


def conv_weight_to_cols(weight: torch.Tensor) -> torch.Tensor:
    """``(O, C, kh, kw)`` -> ``(kh * kw * C, O)`` matching :func:`int8_conv2d`'s im2col."""
    return weight.permute(2, 3, 1, 0).reshape(-1, weight.shape[0]).contiguous()


def check_float_exact(max_abs_input: float, max_abs_weight: float, fan_in: int) -> None:
    """Raise if an integer-valued float accumulation could exceed float32's exact range."""
    bound = max_abs_input * max_abs_weight * fan_in
    if bound >= FLOAT32_EXACT:
        raise OverflowError(f'integer accumulation bound {bound:.3g} exceeds 2^24; float32 '
                            'would not be exact for this layer')
