"""Attention whose products are spike x spike: Q-SDSA (QSD Eq. 6) and Spikformer's SSA.

:class:`SpikeProductAttention` is the one base class of such blocks: q/k/v
branches that end in a spiking neuron (``SN(conv(x))``, the ``.neuron`` of a
:class:`~mmqsd.layers.ConvBNNeuron`) and a ``products`` submodule that
multiplies them, ``scale * q (k^T v)`` per head.  In the training form
``products`` is :class:`AttentionProducts` (tensors); :mod:`mmqsd.deploy`
substitutes a module that multiplies binary spike trains instead.  Analysis
(energy, attention distributions) and the FGD recorders find attention
layers by this class.
"""
from typing import List, Tuple

import torch
from torch import nn

#: ``'spike'``: Q-SDSA's ``scale * q (k^T v)`` on spikes; ``'softmax'``: the MHSA of the ANN
#: counterpart (FGD teacher, QSD Fig. 1c), ``softmax(scale * q k^T) v`` on real values.
ATTENTION_MODES = ('spike', 'softmax')


def check_attention_mode(mode: str) -> str:
    """Return ``mode`` if it is one of :data:`ATTENTION_MODES`, else raise naming them."""
    if mode not in ATTENTION_MODES:
        raise ValueError(f'unknown attention {mode!r}: use {ATTENTION_MODES[0]!r} (spiking) or '
                         f'{ATTENTION_MODES[1]!r} (the ANN counterpart)')
    return mode


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """``(..., C, H, W)`` -> ``(..., heads, N, d)``, channel ``c = head * d + j``."""
    x = x.flatten(-2).unflatten(-2, (num_heads, -1))
    return x.transpose(-1, -2)


def merge_heads(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`split_heads`: ``(..., heads, N, d)`` -> ``(..., C, H, W)``."""
    return x.transpose(-1, -2).flatten(-3, -2).unflatten(-1, (height, width))


def multi_head_attention(q, k, v, num_heads: int, mode: str, scale: float) -> torch.Tensor:
    """Attention of ``(..., C, H, W)`` q/k/v, returned as ``(..., C, H, W)``.

    ``'spike'``: ``scale * q (k^T v)`` per head (SDSA, O(N d^2)).  By
    associativity it is also Spikformer's ``(q k^T) v`` (O(N^2 d)), up to
    floating-point summation order.  ``'softmax'``: ``softmax(scale * q k^T) v``.
    """
    height, width = q.shape[-2:]
    q, k, v = (split_heads(t, num_heads) for t in (q, k, v))
    if mode == 'spike':
        out = q @ (k.transpose(-1, -2) @ v) * scale
    else:
        out = torch.softmax(q @ k.transpose(-1, -2) * scale, dim=-1) @ v
    return merge_heads(out, height, width)


class AttentionProducts(nn.Module):
    """The products of a :class:`SpikeProductAttention` on tensors (training form)."""

    def __init__(self, num_heads: int, mode: str, scale: float):
        super().__init__()
        self.num_heads = num_heads
        self.mode = check_attention_mode(mode)
        self.scale = float(scale)

    def forward(self, q, k, v) -> torch.Tensor:
        return multi_head_attention(q, k, v, self.num_heads, self.mode, self.scale)

    def extra_repr(self):
        return f'num_heads={self.num_heads}, mode={self.mode}, scale={self.scale:g}'


class SpikeProductAttention(nn.Module):
    """Base of attention blocks whose products are spike x spike (see module docstring).

    Subclasses call :meth:`_setup_products` and build ``q``, ``k``, ``v``
    branches (modules with a spiking ``.neuron`` last); :meth:`attention`
    returns ``products(q(s), k(s), v(s))``.
    """

    num_heads: int
    q: nn.Module
    k: nn.Module
    v: nn.Module

    def _setup_products(self, dim: int, num_heads: int, scale, attention: str) -> None:
        if dim % num_heads:
            raise ValueError(f'embedding dim {dim} is not divisible by num_heads={num_heads}; '
                             'pick dims that are multiples of the head count')
        self.num_heads = num_heads
        self.attention_mode = check_attention_mode(attention)
        self.scale = (dim // num_heads) ** -0.5 if scale is None else scale
        self.products = AttentionProducts(num_heads, attention, self.scale)

    def qkv_products(self, s) -> torch.Tensor:
        """``products(q(s), k(s), v(s))``: the attention before its output neuron."""
        return self.products(self.q(s), self.k(s), self.v(s))

    def product_macs(self, output: torch.Tensor) -> List[Tuple[str, float, str]]:
        """``(name, MACs, gating neuron)`` of the two products, from the ``(..., C, H, W)``
        output of ``products``: ``k^T v`` and ``q (k^T v)`` cost ``N * C * d`` each
        (QSD Table 7), gated by the k and q spikes."""
        channels, tokens = output.shape[-3], output.shape[-2] * output.shape[-1]
        macs = output[..., 0, 0, 0].numel() * tokens * channels * (channels // self.num_heads)
        return [('k_t@v', macs, 'k.neuron'), ('q@kv', macs, 'q.neuron')]
