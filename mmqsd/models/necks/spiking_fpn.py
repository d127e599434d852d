"""Spiking feature pyramid (QSD paper Sec. 5 "Object detection": mmdetection
"converted into a spiking version by IE-LIF"; FPN of Lin et al. 2017).

Every convolution of the pyramid consumes spikes: an IE-LIF neuron (Eq. 9)
turns its real-valued input (a backbone stage output, or the merged top-down
lateral) into multi-bit spikes, which feed an LSQ-quantised conv (Eq. 4-5)::

    lateral_i = Conv1x1_q(SN(C_i))                        (real-valued)
    merged_i  = lateral_i + nearest_up(merged_{i+1})      (real-valued)
    P_i       = Conv3x3_q(SN(merged_i))                   (real-valued, to the heads)
    P_extra   = max_pool(P_last, kernel 1, stride 2)      (as mmdet FPN, no extra convs)

Nearest upsampling, addition and max-pooling act on dense conv outputs, never
on spikes, so the spike-driven form (:func:`mmqsd.deploy.to_spike_driven`)
needs no special handling: the neurons emit binary spike trains and the
quantised convs accumulate them.  There is no normalisation layer, hence no
``fusion_chains``.

Deliberate differences from the ``SpikeFPN`` of the authors' released detection
code (the paper gives no neck details beyond Sec. 5):

* convs are LSQ-quantised (``weight_bits``, None for full precision); the
  authors' neck convs are full precision although the paper's Table 2 lists
  the detectors as 4-bit;
* the neuron is the same IE-LIF in training and evaluation (the released neck
  binarises at eval, clip to 1, while it trains with 0..4 levels);
* upsampling folds the leading axes instead of running a 3-D nearest
  interpolation over (C, H, W) of 5-D tensors;
* multi-step ``(T, B, C, H, W)`` inputs are averaged over T at the outputs,
  so mmdet's heads always receive ``(B, C, H, W)`` maps.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from ...layers import LIF, SpikingConv, neuron_config
from ...registry import MODELS
from ..input_checks import check_input_channels

BACKBONE_CHANNELS = ("the backbone's output channels, one per out_indices entry: "
                     'arch embed_dims[i] of QSDTransformer/ANNTransformer, the stage '
                     'channels of CSDformer')


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def resize_spatial(x: torch.Tensor, size: Sequence[int], mode: str = 'nearest') -> torch.Tensor:
    """Resize the last two axes of a ``(..., C, H, W)`` tensor to ``size``."""
    flat = x.reshape(-1, *x.shape[-3:])
    out = F.interpolate(flat, size=tuple(size), mode=mode)
    return out.reshape(*x.shape[:-2], *out.shape[-2:])


@MODELS.register_module()
class SpikingFPN(BaseModule):
    """Feature pyramid whose convs are driven by IE-LIF spikes.

    Args:
        in_channels: channels of each backbone output (e.g. ``[64, 128, 256, 360]``).
        out_channels: channels of every pyramid level.
        num_outs: number of outputs; levels beyond the backbone's are made by
            stride-2 max-pooling of the last one (mmdet FPN without extra convs).
        start_level / end_level: first and last (inclusive, as mmdet's FPN) backbone
            outputs used; ``end_level=-1``: up to the last.
        weight_bits: LSQ bits of the convs (2..8) or None for full precision.
        neuron: 'ie_lif' (QSD) or 'lif' (binary baseline; needs ``(T, B, C, H, W)``
            inputs, i.e. a backbone with ``time_reduce='none'``).
        levels: IE-LIF's largest spike count b.
        neuron_cfg: extra neuron kwargs (e.g. ``dict(gain=4.)``).
        upsample_mode: interpolation of the top-down path (default 'nearest').
        init_cfg: Xavier-uniform convs, as mmdet's FPN and the paper (Sec. 5).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int,
                 start_level: int = 0, end_level: int = -1, weight_bits: Optional[int] = 4,
                 neuron: str = 'ie_lif', levels: int = 4, neuron_cfg: Optional[dict] = None,
                 upsample_mode: str = 'nearest',
                 init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform')):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        if not self.in_channels or not all(_positive_int(c) for c in self.in_channels + [
                out_channels]):
            raise ValueError(f'in_channels={in_channels!r} (one entry per backbone output) and '
                             f'out_channels={out_channels!r} must be positive ints')
        end = len(self.in_channels) if end_level == -1 else end_level + 1  # exclusive
        if not 0 <= start_level < end <= len(self.in_channels):
            raise ValueError(f'start_level={start_level}, end_level={end_level} do not select '
                             f'a non-empty range of the {len(self.in_channels)} inputs')
        if num_outs < end - start_level:
            raise ValueError(f'num_outs={num_outs} is smaller than the {end - start_level} '
                             'backbone levels used; raise num_outs or start_level')
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.start_level = start_level
        self.end_level = end
        self.upsample_mode = upsample_mode
        ncfg = neuron_config(neuron, levels, **(neuron_cfg or {}))
        used = self.in_channels[start_level:end]
        self.lateral_convs = nn.ModuleList(
            SpikingConv(c, out_channels, 1, ncfg, weight_bits) for c in used)
        self.fpn_convs = nn.ModuleList(
            SpikingConv(out_channels, out_channels, 3, ncfg, weight_bits) for _ in used)
        self.needs_time_axis = isinstance(self.lateral_convs[0].neuron, LIF)

    def _check_inputs(self, inputs):
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'SpikingFPN expects {len(self.in_channels)} feature maps '
                             f'(in_channels={self.in_channels}), got {len(inputs)}; make the '
                             "backbone's out_indices match in_channels")
        check_input_channels(type(self).__name__, inputs, self.in_channels,
                             'model.neck.in_channels', BACKBONE_CHANNELS)
        if self.needs_time_axis and inputs[0].dim() != 5:
            raise ValueError('the binary LIF neuron integrates over time and needs '
                             '(T, B, C, H, W) inputs; set the backbone time_reduce=\'none\'')

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """``inputs``: backbone maps ``(B, C, H, W)`` or ``(T, B, C, H, W)``.

        Raises:
            ValueError: their number or channels differ from ``in_channels``
                (the message gives the ``model.neck.in_channels`` to set).
        """
        self._check_inputs(inputs)
        laterals: List[torch.Tensor] = [
            conv(inputs[self.start_level + i]) for i, conv in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            coarse = resize_spatial(laterals[i], laterals[i - 1].shape[-2:], self.upsample_mode)
            laterals[i - 1] = laterals[i - 1] + coarse
        outs = [conv(x) for conv, x in zip(self.fpn_convs, laterals)]
        if outs[0].dim() == 5:
            outs = [out.mean(0) for out in outs]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
