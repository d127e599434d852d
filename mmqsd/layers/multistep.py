"""Multi-step tensors ``(T, B, ...)``: run a per-sample op with the leading axes folded."""
from typing import Callable

import torch


def fold_batch(x: torch.Tensor, op: Callable, sample_dims: int) -> torch.Tensor:
    """``op`` on ``x`` with every axis before the last ``sample_dims`` folded into one batch
    axis (time, batch, virtual steps), unfolded again on the result."""
    lead = x.shape[:x.dim() - sample_dims]
    out = op(x.reshape(-1, *x.shape[x.dim() - sample_dims:]))
    return out.reshape(*lead, *out.shape[1:])
