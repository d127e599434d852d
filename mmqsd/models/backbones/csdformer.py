"""CSDformer backbone: the tailored / quantised transformer of CSDformer (Sec. 3.1-3.2).

``X_0 = TT(I)`` (Eq. 1), then ``depth`` tailored blocks (Eqs. 2-3); a classifier
adds ``GAP`` + a linear head (Eq. 4: mmpretrain ``GlobalAveragePooling`` +
``LinearClsHead``, no activation before the head, as in Spikingformer;
CSDformer Sec. 3.1).  ``quantized=True`` gives the QANN that is trained and
then converted by :func:`mmqsd.deploy.convert_csdformer`; ``quantized=False``
the float (ReLU) tailored transformer, which does not convert.

Stages, for ``out_indices`` and ``frozen_stages`` (ImageNet layout, 4 max-pools):

=====  ==========================================  ========  =======
index  module                                      channels  stride
=====  ==========================================  ========  =======
0      tokenizer conv 3x3 + BN (analog input)      D/8       1
1      act, max-pool, conv + BN                    D/4       2
2      act, max-pool, conv + BN                    D/2       4
3      act, max-pool, conv + BN                    D         8
4      act, max-pool, conv + BN  (= X_0)           D         16
5..    tailored blocks (TMSA + TMLP)               D         16
=====  ==========================================  ========  =======

With the CIFAR layout (2 max-pools, in stages 3 and 4) the strides are 1, 1,
1, 2, 4.  Outputs are ``(B, C, H, W)`` (block tokens are reshaped back), so
mmdet/mmseg necks can take several of them (multi-scale outputs are our
extension; the paper covers classification only).
"""
import copy
from typing import Callable, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from ...layers import TailoredBlock, build_tokenizer
from ...ops import check_levels
from ...registry import MODELS
from .activation_checkpoint import checkpointed_call
from .arg_checks import check_arch_dict, check_flag, check_frozen_stages, check_out_indices

# Heads: the paper does not give them (CSDformer Sec. 4.1); Spikingformer's
# configs use 8 (ImageNet, CIFAR-100) and 12 (CIFAR-10 4-384; set in that config).
ARCH_SETTINGS = {
    '8-384': dict(depth=8, embed_dims=384, num_heads=8, mlp_ratio=4),
    '8-512': dict(depth=8, embed_dims=512, num_heads=8, mlp_ratio=4),
    '8-768': dict(depth=8, embed_dims=768, num_heads=8, mlp_ratio=4),
    '4-384': dict(depth=4, embed_dims=384, num_heads=8, mlp_ratio=4),
    '2-384': dict(depth=2, embed_dims=384, num_heads=8, mlp_ratio=4),
    '4-256': dict(depth=4, embed_dims=256, num_heads=8, mlp_ratio=4),
}
NUM_TOKENIZER_STAGES = 5


def resolve_csdformer_arch(arch: Union[str, dict]) -> dict:
    """A validated arch dict from a name ``'{depth}-{dim}'`` or a custom dict."""
    if isinstance(arch, str):
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'unknown CSDformer arch {arch!r}: use one of {sorted(ARCH_SETTINGS)} '
                             'or a dict(depth=..., embed_dims=..., num_heads=..., mlp_ratio=4)')
        return copy.deepcopy(ARCH_SETTINGS[arch])
    arch = check_arch_dict(arch, 'CSDformer', ('depth', 'embed_dims', 'num_heads'),
                           dict(mlp_ratio=4),
                           'dict(depth=2, embed_dims=64, num_heads=4, mlp_ratio=4)')
    dim, heads = arch['embed_dims'], arch['num_heads']
    if dim % 8 or dim <= 0:
        raise ValueError(f'embed_dims={dim} must be a positive multiple of 8 '
                         '(the tokenizer starts with embed_dims // 8 channels)')
    if dim % heads:
        raise ValueError(f'embed_dims={dim} is not divisible by num_heads={heads}')
    return arch


def default_num_pools(img_size: Union[int, Sequence[int]]) -> int:
    """4 max-pools for ImageNet-sized inputs, 2 (the last two) for CIFAR-sized ones (<= 64 px)."""
    sizes = (img_size, ) if isinstance(img_size, int) else tuple(img_size)
    return 2 if min(sizes) <= 64 else 4


def run_stages(tokenizer: Sequence[nn.Module], blocks: Sequence[nn.Module], x: torch.Tensor,
               out_indices: Sequence[int], first_index: int = 0,
               call: Optional[Callable[[nn.Module, torch.Tensor], torch.Tensor]] = None
               ) -> Tuple[torch.Tensor, ...]:
    """Tokenizer stages on ``(..., C, H, W)``, then blocks on tokens ``(..., C, H*W)``.

    Shared by the QANN and its SNN (whose tensors have a leading time axis).
    Returns the outputs of the stages in ``out_indices`` (stage numbers start
    at ``first_index``), block outputs reshaped to ``(..., C, H, W)``.
    ``call(module, x)`` runs each stage and block (default ``module(x)``; the
    QANN passes its activation checkpointing).
    """
    call = call or (lambda module, inputs: module(inputs))
    outs = []
    for index, stage in enumerate(tokenizer, first_index):
        x = call(stage, x)
        if index in out_indices:
            outs.append(x)
    height, width = x.shape[-2:]
    x = x.flatten(-2)
    for index, block in enumerate(blocks, first_index + len(tokenizer)):
        x = call(block, x)
        if index in out_indices:
            outs.append(x.unflatten(-1, (height, width)))
    return tuple(outs)


@MODELS.register_module()
class CSDformer(BaseModule):
    """CSDformer-{depth}-{dim} tailored transformer, float or quantised.

    Args:
        arch: '8-384' | '8-512' | '8-768' (ImageNet) | '4-384' | '2-384' | '4-256'
            (CIFAR) or ``dict(depth, embed_dims, num_heads, mlp_ratio)``.
        in_channels: image channels.
        img_size: training image size; picks the tokenizer layout when
            ``num_pools`` is None (> 64 px: 4 max-pools, else 2).
        num_pools: max-pools in the tokenizer (0..4, in its last stages).
        quantized: LSQ activation quantisers (the QANN of Sec. 3.2) instead of ReLU.
        levels: quantisation level ``L`` (= SNN time window ``T``), default 4.
        out_indices: stages to return (see the module docstring; -1 = last block).
        frozen_stages: stages ``0..frozen_stages`` are frozen (-1: none).
        norm_eval: keep BN layers in eval mode while training.
        with_cp: activation checkpointing of each stage (tokenizer stage or
            block) in training: same losses and gradients, less memory, one
            more forward per stage (see :class:`QSDTransformer`).
            ``TypeError`` unless a bool.
    """

    def __init__(self, arch: Union[str, dict] = '8-384', in_channels: int = 3,
                 img_size: Union[int, Sequence[int]] = 224, num_pools: int = None,
                 quantized: bool = True, levels: int = 4, out_indices: Sequence[int] = (-1, ),
                 frozen_stages: int = -1, norm_eval: bool = False, with_cp: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.arch = resolve_csdformer_arch(arch)
        self.quantized = bool(quantized)
        self.levels = check_levels(levels) if self.quantized else None
        self.num_pools = default_num_pools(img_size) if num_pools is None else num_pools
        dim, depth = self.arch['embed_dims'], self.arch['depth']
        self.embed_dims = dim
        self.in_channels = in_channels
        num_stages = NUM_TOKENIZER_STAGES + depth
        self.out_indices = check_out_indices(
            out_indices, num_stages, f' (0-4: tokenizer, 5-{num_stages - 1}: blocks)')
        self.frozen_stages = check_frozen_stages(frozen_stages, num_stages)
        self.norm_eval = norm_eval
        self.with_cp = check_flag(with_cp, 'with_cp')

        self.tokenizer = build_tokenizer(in_channels, dim, self.num_pools, self.levels)
        self.blocks = nn.ModuleList(
            TailoredBlock(dim, self.arch['num_heads'], self.arch['mlp_ratio'], self.levels)
            for _ in range(depth))
        self._freeze_stages()

    @property
    def stages(self) -> list:
        """Tokenizer stages followed by the blocks (the units of ``out_indices``)."""
        return list(self.tokenizer) + list(self.blocks)

    @property
    def stage_channels(self) -> Tuple[int, ...]:
        return tuple(s.proj.bn.num_features for s in self.tokenizer) + (self.embed_dims, ) * len(
            self.blocks)

    @property
    def stage_strides(self) -> Tuple[int, ...]:
        strides, stride = [], 1
        for stage in self.tokenizer:
            stride *= 2 if stage.pool else 1
            strides.append(stride)
        return tuple(strides) + (stride, ) * len(self.blocks)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return run_stages(self.tokenizer, self.blocks, x, self.out_indices,
                          call=lambda module, inputs: checkpointed_call(module, inputs,
                                                                        self.with_cp))

    def _freeze_stages(self):
        for stage in self.stages[:self.frozen_stages + 1]:
            stage.eval()
            for param in stage.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self
