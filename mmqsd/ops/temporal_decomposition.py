"""Temporal decomposition (TDEC), CSDformer Sec. 3.3.2 and Appendix B (Eqs. 10, 12-13, 20-23).

An operation ``y = f(x)`` on a quantity that an SNN delivers over ``T`` steps,
``x = sum_t x(t)``, is split into per-step parts with the running sums
``P(t) = sum_{tau <= t} x(tau)``::

    y(t) = f(P(t)) - f(P(t-1)),   P(0) = 0              (Eq. 21)
    sum_t y(t) = f(P(T)) - f(0) = f(x)                   (telescoping, f(0) = 0)

* Max-pooling of binary spikes (Eq. 10): because ``P(t) = P(t-1) + X(t)`` with
  binary ``X(t)``, the window maximum grows by 0 or 1 per step, so every ``y(t)``
  is a binary spike.  Pooling each step on its own (a spike-wise OR) would
  over-count; TDEC needs a running counter per input and the last maximum.
* A product of two spike-count matrices (Eqs. 12-13, 22-23)::

      C(t) = P_A(t) P_B(t) - P_A(t-1) P_B(t-1) = A(t) P_B(t) + P_A(t-1) B(t)

  With binary ``A(t)``, ``B(t)`` each term is a binary matrix times an integer
  count matrix: the binary entries only gate additions of counts.

The ``*_step`` functions are pure steps with explicit state (the running counts);
the stateful units :class:`~mmqsd.layers.TDECMaxPool2d` and
:class:`~mmqsd.layers.TDECMatMul` wrap them and run whole sequences.
"""
from typing import Callable, Tuple

import torch
import torch.nn.functional as F


def tdec(fn: Callable[..., torch.Tensor], *seqs: torch.Tensor) -> torch.Tensor:
    """Reference TDEC of Eq. 21 for any ``fn`` of one or more ``(T, ...)`` sequences.

    Returns the ``(T, ...)`` sequence ``fn(P(t)) - fn(P(t-1))`` with ``P(0) = 0``
    (so ``fn`` should satisfy ``fn(0) = 0`` for the parts to sum to ``fn(sum_t x)``).
    This is the mathematical definition; the spike-driven implementations are
    :func:`tdec_maxpool2d_step` and :func:`tdec_matmul_step`.
    """
    counts = [torch.zeros_like(seq[0]) for seq in seqs]
    previous = fn(*counts)
    out = []
    for step in range(seqs[0].shape[0]):
        counts = [c + seq[step] for c, seq in zip(counts, seqs)]
        current = fn(*counts)
        out.append(current - previous)
        previous = current
    return torch.stack(out)


def tdec_maxpool2d_step(spikes: torch.Tensor, count: torch.Tensor, last_max: torch.Tensor,
                        kernel_size: int = 3, stride: int = 2,
                        padding: int = 1) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of TDEC max-pooling (Eq. 10): returns ``(y(t), P(t), max P(t))``.

    ``spikes``: binary ``(B, C, H, W)``; ``count``/``last_max``: the state after
    step ``t-1`` (zeros at the start).  ``y(t)`` is binary.
    """
    count = count + spikes
    window_max = F.max_pool2d(count, kernel_size, stride, padding)
    return window_max - last_max, count, window_max


def tdec_matmul_step(a: torch.Tensor, b: torch.Tensor, count_a: torch.Tensor,
                     count_b: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of TDEC-VMM (Eq. 13/23): returns ``(Gamma(t), P_A(t), P_B(t))``.

    ``Gamma(t) = A(t) @ P_B(t) + P_A(t-1) @ B(t)``; with binary ``A(t)``, ``B(t)``
    each product has a binary operand.  ``count_a``/``count_b`` are ``P_A(t-1)``,
    ``P_B(t-1)`` (zeros at the start).
    """
    count_b = count_b + b
    gamma = a @ count_b + count_a @ b
    return gamma, count_a + a, count_b


def is_binary(x: torch.Tensor) -> bool:
    """True when every entry of ``x`` is 0 or 1."""
    return bool(((x == 0) | (x == 1)).all())

