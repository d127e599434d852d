"""QSD-Transformer backbone (QSD paper Sec. 3-4, Table 9; SDT-v2 / Meta-SpikeFormer layout).

Stages (strides for ``stage4_stride=1``; dims ``[d0, d1, d2, d3]``):

====  ==========================================================  ======
stage modules                                                      stride
====  ==========================================================  ======
0     stem 7x7/2 (d0/2), ConvBlock, down 3x3/2 (d0), ConvBlock     4
1     down 3x3/2 (d1), 2 x ConvBlock                               8
2     down 3x3/2 (d2), 6 x TransformerBlock (Q-SDSA + MLP)         16
3     down 3x3/``stage4_stride`` (d3), 2 x TransformerBlock        16|32
====  ==========================================================  ======

Deliberate difference from the authors' code: their stage-4 downsampling has
stride 1, so detection features are at strides 4/8/16/16 while their configs
declare 4/8/16/32.  ``stage4_stride`` exposes it: 1 (default) reproduces the
classification model and its checkpoints exactly (weights do not depend on the
stride); dense-prediction configs use 2 for a consistent 4/8/16/32 pyramid.

Outputs are multi-step ``(T, B, C, H, W)`` tensors for ``out_indices``; with
``time_reduce='mean'`` they are averaged over T to ``(B, C, H, W)``.
"""
import copy
from typing import Sequence, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from ...layers import (MPRF, ConvBlock, Downsample, TransformerBlock, check_time_steps,
                       neuron_config, to_multistep)
from ...ops import check_weight_bits
from ...registry import MODELS
from .activation_checkpoint import checkpointed_call
from .arg_checks import check_arch_dict, check_flag, check_frozen_stages, check_out_indices
from .checkpoint_loading import load_pretrained_backbone

ARCH_SETTINGS = {
    'T': dict(embed_dims=[64, 128, 256, 360], num_heads=8, mlp_ratio=4, depths=(6, 2)),
    'M': dict(embed_dims=[96, 192, 384, 480], num_heads=8, mlp_ratio=4, depths=(6, 2)),
    'L': dict(embed_dims=[128, 256, 512, 640], num_heads=8, mlp_ratio=4, depths=(6, 2)),
}
ARCH_ALIASES = {'tiny': 'T', 't': 'T', 'medium': 'M', 'm': 'M', 'large': 'L', 'l': 'L'}


def resolve_arch(arch: Union[str, dict]) -> dict:
    """Return a validated arch dict from 'T'/'M'/'L' (or aliases) or a custom dict."""
    if isinstance(arch, str):
        key = ARCH_ALIASES.get(arch, arch)
        if key not in ARCH_SETTINGS:
            raise ValueError(f'unknown QSDTransformer arch {arch!r}: use one of '
                             f'{sorted(ARCH_SETTINGS)} or a dict with keys embed_dims, '
                             'num_heads, mlp_ratio, depths')
        return copy.deepcopy(ARCH_SETTINGS[key])
    arch = check_arch_dict(arch, 'QSDTransformer', ('embed_dims', 'num_heads'),
                           dict(mlp_ratio=4, depths=(6, 2)),
                           'dict(embed_dims=[64, 128, 256, 360], num_heads=8, mlp_ratio=4, '
                           'depths=(6, 2))')
    dims, heads = list(arch['embed_dims']), arch['num_heads']
    if len(dims) != 4 or any(int(d) <= 0 for d in dims):
        raise ValueError(f'embed_dims must be 4 positive ints, got {dims}')
    if dims[0] % 2:
        raise ValueError(f'embed_dims[0]={dims[0]} must be even (the stem outputs d0/2)')
    for d in dims[2:]:
        if d % heads:
            raise ValueError(f'embed dim {d} of a transformer stage is not divisible by '
                             f'num_heads={heads}; change embed_dims or num_heads')
    if len(arch['depths']) != 2 or min(arch['depths']) < 1:
        raise ValueError(f"depths gives the block counts of stages 3 and 4, got {arch['depths']}")
    arch['embed_dims'] = dims
    return arch


@MODELS.register_module()
class QSDTransformer(BaseModule):
    """QSD-Transformer backbone.

    Args:
        arch: 'T' | 'M' | 'L' (15.1M / 31.3M / 55.4M with a 1000-class head) or a dict.
        in_channels: input channels (3 for images, 2-3 for event frames).
        weight_bits: LSQ weight bits (2..8) or None for full precision.
        neuron: 'ie_lif' (multi-bit IE-LIF, Eq. 9), 'lif' (binary LIF, Eq. 1-3) or a
            neuron config dict (``dict(type='relu')`` for the ANN counterpart).
        levels: IE-LIF's b (largest spike count, default 4).
        time_steps: T; static images are repeated T times.  Stateless IE-LIF
            gains nothing from T > 1; the LIF baseline does.
        mprf: apply the membrane potential rectify function to q/k/v (Eq. 12).
        neuron_cfg: extra neuron kwargs (e.g. ``dict(gain=4.)`` for the authors' convention).
        attn_neuron_cfg: overrides for the attention-output neuron.
        attn_scale: constant of ``scale * q (k^T v)`` (authors' QSD: 0.25; None: 1/sqrt(d)).
        attention: 'spike' (Q-SDSA) or 'softmax' (MHSA of the ANN counterpart,
            :class:`~mmqsd.models.backbones.ANNTransformer`).
        layer_scale_init: initial per-channel layer scale of transformer blocks.
        out_indices: stages (0-3) whose outputs are returned.
        stage4_stride: stride of the last downsampling (1 as in the authors' code, or 2).
        frozen_stages: stages 0..frozen_stages are frozen (-1: none).
        norm_eval: keep BN layers in eval mode while training.
        time_reduce: 'none' -> (T, B, C, H, W) outputs, 'mean' -> (B, C, H, W).
        drop_path_rate: stochastic depth over the transformer blocks.
        channels_last: run on channels-last memory (images are converted on
            entry; every layer keeps the format); results are the same up to
            float summation order.  Off by default: on the project's CPU it
            changed a QSD-T training step by 2% and inference by 3%, within
            noise (docs/benchmarks.md); GPUs with tensor cores usually gain.
            The integer inference forms always use it.
        with_cp: activation checkpointing: in training (with gradients) each
            stage layer (downsampling or block) keeps only its input and
            recomputes its activations in the backward pass; same losses and
            gradients, less memory, one more forward per layer (figures in
            docs/benchmarks.md).  ``TypeError`` unless a bool.
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')``
            to start from an mmqsd classification checkpoint; unlike mmengine's
            ``PretrainedInit`` a mismatch raises (see :meth:`init_weights`).
    """

    def __init__(self, arch: Union[str, dict] = 'T', in_channels: int = 3,
                 weight_bits=4, neuron: Union[str, dict] = 'ie_lif', levels: int = 4,
                 time_steps: int = 1, mprf: bool = True, neuron_cfg: dict = None,
                 attn_neuron_cfg: dict = None, attn_scale: float = 0.25,
                 layer_scale_init: float = 1e-6,
                 out_indices: Sequence[int] = (3, ), stage4_stride: int = 1,
                 frozen_stages: int = -1, norm_eval: bool = False, time_reduce: str = 'none',
                 drop_path_rate: float = 0., attention: str = 'spike',
                 channels_last: bool = False, with_cp: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.arch = resolve_arch(arch)
        check_weight_bits(weight_bits)
        check_time_steps(time_steps)
        if stage4_stride not in (1, 2):
            raise ValueError(f'stage4_stride must be 1 (authors) or 2 (4/8/16/32 pyramid), '
                             f'got {stage4_stride}')
        if time_reduce not in ('none', 'mean'):
            raise ValueError(f"time_reduce must be 'none' or 'mean', got {time_reduce!r}")
        out_indices = check_out_indices(out_indices, 4)
        check_frozen_stages(frozen_stages, 4)
        self.in_channels = in_channels
        self.weight_bits = weight_bits
        self.time_steps = time_steps
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.time_reduce = time_reduce
        self.channels_last = channels_last
        self.with_cp = check_flag(with_cp, 'with_cp')
        self.embed_dims = self.arch['embed_dims']
        self.stage_strides = (4, 8, 16, 16 * stage4_stride)

        ncfg = neuron_config(neuron, levels, **(neuron_cfg or {}))
        acfg = dict(ncfg, **(attn_neuron_cfg or {}))
        d0, d1, d2, d3 = self.embed_dims
        depth3, depth4 = self.arch['depths']
        ratio = self.arch['mlp_ratio']
        dpr = torch.linspace(0, drop_path_rate, depth3 + depth4).tolist()

        def transformer_stage(dim, rates):
            return nn.ModuleList(
                TransformerBlock(dim, self.arch['num_heads'], ncfg, weight_bits, ratio, mprf, acfg,
                                 attn_scale, layer_scale_init, rate, attention) for rate in rates)

        self.stages = nn.ModuleList([
            nn.ModuleList([
                Downsample(in_channels, d0 // 2, 7, 2, 3, ncfg, weight_bits, first_layer=True),
                ConvBlock(d0 // 2, ncfg, weight_bits),
                Downsample(d0 // 2, d0, 3, 2, 1, ncfg, weight_bits),
                ConvBlock(d0, ncfg, weight_bits),
            ]),
            nn.ModuleList([
                Downsample(d0, d1, 3, 2, 1, ncfg, weight_bits),
                ConvBlock(d1, ncfg, weight_bits),
                ConvBlock(d1, ncfg, weight_bits),
            ]),
            nn.ModuleList([Downsample(d1, d2, 3, 2, 1, ncfg, weight_bits)]).extend(
                transformer_stage(d2, dpr[:depth3])),
            nn.ModuleList([Downsample(d2, d3, 3, stage4_stride, 1, ncfg, weight_bits)]).extend(
                transformer_stage(d3, dpr[depth3:])),
        ])
        self._freeze_stages()

    def to_multistep(self, x: torch.Tensor) -> torch.Tensor:
        """Images or frames -> ``(T, B, C, H, W)``, see :func:`to_multistep`."""
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return to_multistep(x, self.time_steps)

    def forward(self, x):
        x = self.to_multistep(x)
        outs = []
        for index, stage in enumerate(self.stages):
            for layer in stage:
                x = checkpointed_call(layer, x, self.with_cp)
            if index in self.out_indices:
                outs.append(x.mean(0) if self.time_reduce == 'mean' else x)
        return tuple(outs)

    def init_weights(self):
        """Apply ``init_cfg``; a ``Pretrained`` entry loads strictly.

        Loading goes through :func:`load_pretrained_backbone`, which raises a
        ``ValueError`` naming missing / unexpected / mis-shaped keys instead of
        mmengine's warning-only ``strict=False`` load.
        """
        cfgs = self.init_cfg if isinstance(self.init_cfg, list) else [self.init_cfg]
        pretrained = [c for c in cfgs if c and c.get('type') == 'Pretrained']
        if not pretrained or self._is_init:
            return super().init_weights()
        init_cfg = self.init_cfg
        self.init_cfg = [c for c in cfgs if c and c not in pretrained] or None
        try:
            super().init_weights()
        finally:
            self.init_cfg = init_cfg
        for cfg in pretrained:
            load_pretrained_backbone(self, cfg['checkpoint'], cfg.get('prefix', ''),
                                     cfg.get('map_location', 'cpu'))

    def _freeze_stages(self):
        for stage in self.stages[:self.frozen_stages + 1]:
            stage.eval()
            for param in stage.parameters():
                param.requires_grad = False

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, (nn.modules.batchnorm._BatchNorm, MPRF)):
                    module.eval()
        return self
