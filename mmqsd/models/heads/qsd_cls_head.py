"""Spiking classification head (SDT-v2 / QSD): token mean -> neuron -> quantised FC -> mean over T."""
from typing import Optional, Sequence

import torch
from mmpretrain.models.heads import ClsHead

from ...layers import QuantLinear, build_neuron, neuron_config
from ...registry import MODELS


@MODELS.register_module()
class QSDClsHead(ClsHead):
    """Classification head of the QSD-Transformer.

    Takes the last backbone output, ``(T, B, C, H, W)`` or ``(B, C, H, W)``,
    averages tokens, fires a spiking neuron, applies an LSQ-quantised linear
    layer and averages the logits over time (the ``sum_t s[t]`` read-out of
    Eq. 14).

    Args:
        num_classes: number of classes.
        in_channels: channels of the last backbone stage.
        weight_bits / neuron / levels / neuron_cfg: as in :class:`QSDTransformer`.
    """

    def __init__(self, num_classes: int, in_channels: int, weight_bits: Optional[int] = 4,
                 neuron: str = 'ie_lif', levels: int = 4, neuron_cfg: dict = None,
                 init_cfg=dict(type='TruncNormal', layer='Linear', std=0.02), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be a positive integer')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.neuron = build_neuron(neuron_config(neuron, levels, **(neuron_cfg or {})))
        self.fc = QuantLinear(in_channels, num_classes, weight_bits=weight_bits)

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        x = feats[-1]
        if x.dim() == 4:
            x = x.unsqueeze(0)
        if x.shape[-3] != self.in_channels:
            raise ValueError(f'QSDClsHead expected {self.in_channels} channels, got '
                             f'{x.shape[-3]}; set head.in_channels to the last embed dim')
        return x.flatten(-2).mean(-1)  # (T, B, C)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.fc(self.neuron(self.pre_logits(feats))).mean(0)
