"""Layers of CSDformer's tailored transformer (Sec. 3.1, Eqs. 1-7 and 11).

Spikingformer's topology (CSDformer Sec. 3.1: the parameter and MAC counts match
it exactly) with every LIF neuron replaced by an activation ``act``: a ReLU in
the float tailored transformer, an LSQ quantiser in the quantised one
(:func:`~mmqsd.layers.build_activation`).  BN comes after every linear layer
and an activation before it (Sec. 3.1.2); there is no LayerNorm and no
softmax.  Token tensors are ``(B, C, N)``; linear layers are 1x1 convolutions
(:class:`ConvBN`), so they also accept the ``(T, B, C, N)`` sequences of the
converted SNN.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .act_quant import build_activation
from .quant import QuantConv1d, QuantConv2d


class ConvBN(nn.Module):
    """A full-precision conv (1x1 = a linear layer on tokens) followed by BN (Sec. 3.1.2).

    The BN folds into the conv at conversion (Sec. 3.3, ref. [15]); see
    :func:`mmqsd.deploy.fuse_norms`.  ``spatial_dims`` 1: ``(..., C, N)``, 2: ``(..., C, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1,
                 bias: bool = True, spatial_dims: int = 1):
        super().__init__()
        conv, norm = {1: (QuantConv1d, nn.BatchNorm1d),
                      2: (QuantConv2d, nn.BatchNorm2d)}[spatial_dims]
        self.conv = conv(in_channels, out_channels, kernel_size, 1, kernel_size // 2, bias=bias,
                         weight_bits=None)
        self.bn = norm(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))

    def fusion_chains(self):
        return [('conv', ['bn'])]


class TokenizerStage(nn.Module):
    """One conv module of the tailored tokenizer (CSDformer Sec. 3.1, Fig. 2).

    ``[act -> [MaxPool 3x3/2] ->] Conv3x3 -> BN``; stage 0 has no activation and
    sees the analog image.  The max-pool always sits between an activation and
    a conv, so in the SNN its input is spikes (TDEC max-pool).
    """

    def __init__(self, in_channels: int, out_channels: int, levels, activation: bool, pool: bool):
        super().__init__()
        self.act = build_activation(levels) if activation else None
        self.pool = pool
        self.proj = ConvBN(in_channels, out_channels, 3, bias=False, spatial_dims=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act is not None:
            x = self.act(x)
        if self.pool:
            x = F.max_pool2d(x, 3, 2, 1)
        return self.proj(x)

    def extra_repr(self) -> str:
        return f'pool={self.pool}'


def build_tokenizer(in_channels: int, embed_dims: int, num_pools: int, levels) -> nn.ModuleList:
    """The five tokenizer stages ``in -> D/8 -> D/4 -> D/2 -> D -> D``.

    The ``num_pools`` max-pools sit in the *last* stages: 4 on ImageNet (stride
    16, 196 tokens at 224 px), 2 on CIFAR ("max-pooling layers are included
    only in the last two convolutional modules", stride 4, 64 tokens at 32 px).
    """
    if not 0 <= num_pools <= 4:
        raise ValueError(f'num_pools must be in 0..4 (the tokenizer has 4 pooling slots), '
                         f'got {num_pools}')
    channels = [in_channels, embed_dims // 8, embed_dims // 4, embed_dims // 2, embed_dims,
                embed_dims]
    return nn.ModuleList(
        TokenizerStage(channels[i], channels[i + 1], levels, activation=i > 0,
                       pool=i > 4 - num_pools) for i in range(5))


def split_token_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """``(..., C, N) -> (..., heads, N, C/heads)``, channel ``c = head * d + j``."""
    return x.unflatten(-2, (num_heads, -1)).transpose(-1, -2)


def merge_token_heads(x: torch.Tensor) -> torch.Tensor:
    """``(..., heads, N, d) -> (..., heads * d, N)``, the inverse of :func:`split_token_heads`."""
    return x.transpose(-1, -2).flatten(-3, -2)


class TailoredAttention(nn.Module):
    """Tailored multi-head self-attention, TMSA (Eqs. 5-7, quantised: Eq. 11).

    ``X^ = act(X)``; ``Q, K, V = act(BN(X^ W))``; per head
    ``A = NReLU(Q K^T / sqrt(d_k)) = act(Q K^T / sqrt(d_k)) / N``;
    ``O = act(concat(A V))``; output ``BN(O W_O)``.  The ``(Q K^T) V`` order is
    required by the nonlinearity between the products.  Quantised NReLU is
    ``(1/N) Q_L(x)`` (1/N outside the quantiser, equivalent to ``Q_L(x/N)`` with
    the step divided by N; our reading of CSDformer Eq. 6 and 11).  ``N`` is the token count of
    the input (196 / 64 on ImageNet / CIFAR; any size for dense prediction).
    """

    ACTS = ('pre_act', 'q_act', 'k_act', 'v_act', 'attn_act', 'out_act')

    def __init__(self, dim: int, num_heads: int, levels):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'embed_dims={dim} is not divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.scale = (dim // num_heads)**-0.5
        for name in self.ACTS:
            setattr(self, name, build_activation(levels))
        self.q = ConvBN(dim, dim, bias=False)
        self.k = ConvBN(dim, dim, bias=False)
        self.v = ConvBN(dim, dim, bias=False)
        self.proj = ConvBN(dim, dim, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.shape[-1]
        x = self.pre_act(x)
        q, k, v = (split_token_heads(act(proj(x)), self.num_heads)
                   for proj, act in ((self.q, self.q_act), (self.k, self.k_act),
                                     (self.v, self.v_act)))
        attn = self.attn_act(q @ k.transpose(-1, -2) * self.scale) / tokens  # NReLU, Eq. 6
        return self.proj(self.out_act(merge_token_heads(attn @ v)))


class TailoredMLP(nn.Module):
    """Tailored MLP, TMLP: ``BN(act(BN(act(X) W_1)) W_2)`` with hidden size ``ratio * D``."""

    def __init__(self, dim: int, mlp_ratio: float, levels):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.act1 = build_activation(levels)
        self.fc1 = ConvBN(dim, hidden)
        self.act2 = build_activation(levels)
        self.fc2 = ConvBN(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act2(self.fc1(self.act1(x))))


class TailoredBlock(nn.Module):
    """Eqs. 2-3: ``X' = TMSA(X) + X``, ``X_out = TMLP(X') + X'`` (real-valued residual)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, levels):
        super().__init__()
        self.attn = TailoredAttention(dim, num_heads, levels)
        self.mlp = TailoredMLP(dim, mlp_ratio, levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x)
        return x + self.mlp(x)
