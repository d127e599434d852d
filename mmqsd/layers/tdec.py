"""Stateful temporal-decomposition units of the converted CSDformer (Sec. 3.3.2, Eqs. 10, 13).

Each unit keeps running spike counts across the steps of one input and
resets itself at the start of :meth:`forward`, which runs a whole ``(T, ...)``
sequence through :meth:`step`.  The arithmetic is in
:mod:`mmqsd.ops.temporal_decomposition`.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import tdec_matmul_step, tdec_maxpool2d_step


class TDECMaxPool2d(nn.Module):
    """Max-pooling of binary spikes by TDEC (Eq. 10): binary output, counts sum to MP of counts.

    State: one running counter per input position and the last window maximum.
    """

    def __init__(self, kernel_size: int = 3, stride: int = 2, padding: int = 1):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.reset()

    def reset(self) -> None:
        self.count: Optional[torch.Tensor] = None
        self.last_max: Optional[torch.Tensor] = None

    def step(self, spikes: torch.Tensor) -> torch.Tensor:
        """One binary ``(B, C, H, W)`` frame in, one binary pooled frame out."""
        if self.count is None:
            self.count = torch.zeros_like(spikes)
            self.last_max = F.max_pool2d(self.count, self.kernel_size, self.stride, self.padding)
        out, self.count, self.last_max = tdec_maxpool2d_step(
            spikes, self.count, self.last_max, self.kernel_size, self.stride, self.padding)
        return out

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        """``(T, B, C, H, W)`` binary spikes -> ``(T, B, C, H', W')`` binary spikes."""
        self.reset()
        out = torch.stack([self.step(frame) for frame in spikes])
        self.reset()
        return out

    def extra_repr(self) -> str:
        return f'kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}'


class TDECMatMul(nn.Module):
    """Spike-driven product of two spike-count matrices by TDEC (Eqs. 12-13, 22-23).

    ``Gamma(t) = A(t) @ P_B(t) + P_A(t-1) @ B(t)``: integer per-step currents whose
    sum over ``t`` is ``(sum_t A(t)) @ (sum_t B(t))``.  State: ``P_A``, ``P_B``.
    """

    def __init__(self):
        super().__init__()
        self.reset()

    def reset(self) -> None:
        self.count_a: Optional[torch.Tensor] = None
        self.count_b: Optional[torch.Tensor] = None

    def step(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Binary frames ``A(t)`` (..., n, k), ``B(t)`` (..., k, m) -> ``Gamma(t)`` (..., n, m)."""
        if self.count_a is None:
            self.count_a, self.count_b = torch.zeros_like(a), torch.zeros_like(b)
        gamma, self.count_a, self.count_b = tdec_matmul_step(a, b, self.count_a, self.count_b)
        return gamma

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``(T, ..., n, k)`` and ``(T, ..., k, m)`` spike sequences -> ``(T, ..., n, m)``."""
        self.reset()
        out = torch.stack([self.step(a_t, b_t) for a_t, b_t in zip(a, b)])
        self.reset()
        return out
