"""Normalisation layers for multi-step tensors, and the MPRF (QSD Eq. 12).

``SeqBatchNorm2d`` / ``SeqBatchNorm1d`` fold every leading axis (time, batch)
into the batch before normalising, so ``(T, B, C, H, W)`` and ``(T, B, C, N)``
tensors keep their shape.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .multistep import fold_batch


class SeqBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d over ``(..., C, H, W)``."""

    def forward(self, x):
        return fold_batch(x, super().forward, 3)


class SeqBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d over ``(..., C, L)``."""

    def forward(self, x):
        return fold_batch(x, super().forward, 2)


def affine_of_bn(bn: nn.modules.batchnorm._BatchNorm):
    """``(scale, shift)`` with ``bn(y) = scale * y + shift`` in eval mode."""
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    return scale, shift


class MPRF(nn.Module):
    """Membrane potential rectify function, QSD Eq. 12.

    ``p_hat = (p - mu(p)) / sigma(p) * gamma + alpha`` per channel, with batch
    statistics in training and running estimates (``momentum``) at inference,
    so that it folds into the preceding quantised conv (Appendix D, Eq. 24-26;
    see :func:`affine_of_bn`, which applies to this module too).

    ``gamma`` and ``alpha`` are learnable and initialised so that the rectified
    potential ``N(alpha, gamma^2)`` sits in the middle of the IE-LIF firing
    range ``[0, levels/gain]`` with +-2 sigma spanning it: the paper moves the
    zero-centred q/k/v potentials into the neuron's range, and leaves the
    initial values unstated.  (The authors' code has no MPRF.)
    """

    def __init__(self, num_features: int, firing_range_top: float = 4.0,
                 momentum: float = 0.1, eps: float = 1e-5, spatial_dims: int = 2):
        super().__init__()
        self.num_features = num_features
        self.spatial_dims = spatial_dims
        self.momentum = momentum
        self.eps = eps
        self.weight = nn.Parameter(torch.full((num_features, ), firing_range_top / 4))  # gamma
        self.bias = nn.Parameter(torch.full((num_features, ), firing_range_top / 2))  # alpha
        self.register_buffer('running_mean', torch.zeros(num_features))
        self.register_buffer('running_var', torch.ones(num_features))

    @property
    def gamma(self):
        return self.weight

    @property
    def alpha(self):
        return self.bias

    def forward(self, x):
        def rectify(t):
            return F.batch_norm(t, self.running_mean, self.running_var, self.weight, self.bias,
                                self.training, self.momentum, self.eps)
        return fold_batch(x, rectify, self.spatial_dims + 1)

    def extra_repr(self):
        return f'{self.num_features}, momentum={self.momentum}'
