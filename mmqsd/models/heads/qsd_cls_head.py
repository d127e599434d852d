"""Spiking classification head (SDT-v2 / QSD): token mean -> neuron -> quantised FC -> mean over T."""
from typing import Optional, Sequence

import torch
from mmpretrain.models.heads import ClsHead

from ...layers import QuantLinear, build_neuron, neuron_config
from ...registry import MODELS
from ..input_checks import check_input_channels


@MODELS.register_module()
class QSDClsHead(ClsHead):
    """Classification head of the QSD-Transformer.

    Takes the last backbone output, ``(T, B, C, H, W)`` or ``(B, C, H, W)``,
    averages tokens, fires a spiking neuron, applies an LSQ-quantised linear
    layer and averages the logits over time (the ``sum_t s[t]`` read-out of
    Eq. 14).

    Args:
        num_classes: number of classes.
        in_channels: channels of the last backbone stage (the forward pass raises
            ``ValueError`` naming ``model.head.in_channels`` if they differ).
        weight_bits / neuron / levels / neuron_cfg: as in :class:`QSDTransformer`.
    """

    def __init__(self, num_classes: int, in_channels: int, weight_bits: Optional[int] = 4,
                 neuron: str = 'ie_lif', levels: int = 4, neuron_cfg: dict = None,
                 init_cfg=dict(type='TruncNormal', layer='Linear', std=0.02), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be a positive integer')
        if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'in_channels={in_channels!r} must be a positive int: the channels '
                             "of the backbone's last output")
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.neuron = build_neuron(neuron_config(neuron, levels, **(neuron_cfg or {})))
        self.fc = QuantLinear(in_channels, num_classes, weight_bits=weight_bits)

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        x = feats[-1]
        if x.dim() == 4:
            x = x.unsqueeze(0)
        check_input_channels('QSDClsHead', [x], self.in_channels, 'model.head.in_channels',
                             "the channels of the backbone's last output: arch embed_dims[-1] "
                             'of QSDTransformer, embed_dims of QSDSpikformer')
        return x.flatten(-2).mean(-1)  # (T, B, C)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.fc(self.neuron(self.pre_logits(feats))).mean(0)
