"""Helpers shared by every QSD model: neuron configs, multi-step inputs, spiking units.

* :func:`neuron_config`, :func:`check_time_steps`, :func:`to_multistep`: how a model
  turns its arguments into a neuron and its input into ``(T, B, ...)`` steps;
* :class:`SpikingConv` (neuron -> LSQ conv) and :func:`spiking_conv_norm` (+ norm):
  the units of the spiking FPN necks and decode head (QSD Sec. 5);
* :class:`SpikeMaxPool2d`, :class:`SpikeSum`, :class:`SpikeReadout`: the ops that act on
  spikes between Spikformer's units (its tokenizer pools spikes, its residual
  stream is a sum of spikes; Zhou et al., ICLR 2023).  In training they act on
  tensors; :mod:`mmqsd.deploy` substitutes forms that act on binary spike trains.
"""
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from .neurons import build_neuron
from .quant import QuantConv2d


def neuron_config(neuron: Union[str, dict], levels: int, **extra) -> dict:
    """The neuron config shared by every layer of a QSD model.

    ``neuron`` is 'ie_lif' (with ``levels``), 'lif', or a full
    :func:`~mmqsd.layers.build_neuron` config such as ``dict(type='relu')``.
    """
    if isinstance(neuron, dict):
        return dict(neuron, **extra)
    if neuron == 'ie_lif':
        return dict(type='ie_lif', levels=levels, **extra)
    if neuron == 'lif':
        return dict(type='lif', **extra)
    raise ValueError(f"unknown neuron {neuron!r}: use 'ie_lif' (QSD) or 'lif' (binary baseline), "
                     "or a neuron config dict such as dict(type='relu') (real-valued, see "
                     'mmqsd.ANNTransformer)')


def check_time_steps(time_steps: int) -> int:
    """Validate the number of time steps T."""
    if isinstance(time_steps, bool) or not isinstance(time_steps, int) or time_steps < 1:
        raise ValueError(f'time_steps must be a positive int, got {time_steps!r}')
    return time_steps


def to_multistep(x: torch.Tensor, time_steps: int) -> torch.Tensor:
    """(B, C, H, W) images -> repeated (T, B, C, H, W); (B, T, C, H, W) frames -> (T, B, ...)."""
    if x.dim() == 4:
        return x.unsqueeze(0).expand(time_steps, *x.shape)
    if x.dim() == 5:
        if x.shape[1] != time_steps:
            raise ValueError(f'got {x.shape[1]} frames per sample but time_steps='
                             f'{time_steps}; set the backbone time_steps to match')
        return x.transpose(0, 1)
    raise ValueError(f'expected (B, C, H, W) images or (B, T, C, H, W) frames, '
                     f'got shape {tuple(x.shape)}')


class SpikingConv(nn.Module):
    """Spiking neuron -> LSQ-quantised conv (with bias, no norm, no activation)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 neuron_cfg: dict, weight_bits: Optional[int]):
        super().__init__()
        self.neuron = build_neuron(neuron_cfg)
        self.conv = QuantConv2d(in_channels, out_channels, kernel_size,
                                padding=kernel_size // 2, weight_bits=weight_bits)

    def forward(self, x):
        return self.conv(self.neuron(x))


class SpikingConvNorm(nn.Module):
    """A :class:`SpikingConv` (neuron -> LSQ conv with bias) followed by a norm layer."""

    def __init__(self, spiking_conv: SpikingConv, norm: nn.Module):
        super().__init__()
        self.spiking_conv = spiking_conv
        self.bn = norm

    def forward(self, x):
        return self.bn(self.spiking_conv(x))

    def fusion_chains(self):
        foldable = isinstance(self.bn, nn.modules.batchnorm._BatchNorm)
        return [('spiking_conv.conv', ['bn'])] if foldable else []


def spiking_conv_norm(in_channels: int, out_channels: int, kernel_size: int, neuron_cfg: dict,
                      weight_bits: Optional[int], norm_cfg: Optional[dict]) -> nn.Module:
    """``SpikingConv`` with a norm from ``norm_cfg`` (mmcv ``build_norm_layer``) after it, or
    alone if it is None."""
    conv = SpikingConv(in_channels, out_channels, kernel_size, neuron_cfg, weight_bits)
    if norm_cfg is None:
        return conv
    from mmcv.cnn import build_norm_layer
    return SpikingConvNorm(conv, build_norm_layer(norm_cfg, out_channels)[1])


def max_pool_3x3s2(x: torch.Tensor) -> torch.Tensor:
    """3x3/2 max-pool (padding 1) over the last three axes ``(..., C, H, W)``."""
    return F.max_pool2d(x.flatten(0, -4), 3, 2, 1).unflatten(0, x.shape[:-3])


class SpikeMaxPool2d(nn.Module):
    """3x3/2 max-pool over ``(..., C, H, W)`` spikes (Spikformer's SPS order: neuron, then pool).

    Its spike-driven form (:class:`mmqsd.deploy.SpikeTrainMaxPool2d`) pools every
    virtual step of a thermometer-coded train, which is exact.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_pool_3x3s2(x)


class SpikeSum(nn.Module):
    """``a + b`` of two spike tensors (a residual sum of spikes is a spike count).

    Its spike-driven form (:class:`mmqsd.deploy.SpikeTrainSum`) is the train
    holding both sets of steps, so consumers still see binary inputs only.
    """

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class SpikeReadout(nn.Module):
    """Where a spike stream leaves a backbone as a value (identity in training; the
    deployed form sums a spike train's steps)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x
