"""Spiking FPN with a norm after every conv, for the spiking Semantic FPN (QSD paper
Sec. 5 "Semantic segmentation", Table 3).

:class:`~mmqsd.models.necks.SpikingFPN` (the detection neck) follows mmdet's
FPN and has no normalisation, so the scale of its outputs drifts freely.  The
spiking decode head fires IE-LIF neurons on those outputs with a fixed
threshold (0.5 / gain); on the segmentation demo the scale head of the
coarsest level went silent (no spike, hence no gradient) and mIoU dropped from
75.3 to 55.7 (docs/segmentation.md).  The ``QFPN`` of the
authors' released segmentation code normalises every neck conv; so does
this subclass::

    lateral_i = BN(Conv1x1_q(SN(C_i)))       P_i = BN(Conv3x3_q(SN(merged_i)))

Everything else (top-down nearest upsampling of real values, IE-LIF, LSQ
bits, level selection) is :class:`SpikingFPN`'s.  Each BN folds into its conv
(:func:`mmqsd.deploy.fuse_norms`).
"""
from mmcv.cnn import build_norm_layer

from ...layers import SpikingConvNorm
from ...registry import MODELS
from .spiking_fpn import SpikingFPN


@MODELS.register_module()
class SpikingNormFPN(SpikingFPN):
    """:class:`SpikingFPN` with ``norm_cfg`` (BN / SyncBN) after every conv.

    Takes ``(B, C, H, W)`` maps (a backbone with ``time_reduce='mean'``), so
    the neuron is IE-LIF; other arguments as :class:`SpikingFPN`.
    """

    def __init__(self, in_channels, out_channels: int, num_outs: int,
                 norm_cfg: dict = dict(type='BN', requires_grad=True), **kwargs):
        super().__init__(in_channels, out_channels, num_outs, **kwargs)
        if self.needs_time_axis:
            raise ValueError("SpikingNormFPN takes (B, C, H, W) maps and an IE-LIF neuron; use "
                             "neuron='ie_lif', or SpikingFPN for the binary LIF baseline")
        self.norm_cfg = norm_cfg
        for convs in (self.lateral_convs, self.fpn_convs):
            for index, unit in enumerate(convs):
                convs[index] = SpikingConvNorm(unit, build_norm_layer(norm_cfg, out_channels)[1])
