"""Fold BN and MPRF into the preceding quantised conv (QSD Appendix D, Eq. 24-26).

A per-channel affine map after a quantised conv, ``y -> a*y + c`` (BN in eval
mode, MPRF with its running statistics), becomes part of that conv:
``w_f = a * step * Q(w)``, ``b_f = a * b + c``.  The conv is replaced by its
deployed form (:class:`~mmqsd.deploy.modules.Int8Synapse`: the integers ``Q(w)``
are kept, only the per-channel scale and the bias change, so a fused model
still runs with b-bit weights; :class:`~mmqsd.deploy.modules.FloatSynapse` for
full-precision layers) and the norms by ``nn.Identity``.  Blocks declare what
folds where with ``fusion_chains()``: ``[(conv_path, [norm_path, ...]), ...]``
in forward order.
"""
import copy

import torch
from torch import nn

from ..layers import LSQWeightMixin, RepConv, TransformerBlock, affine_of_bn
from .modules import synapse_of


def get_module(module: nn.Module, path: str) -> nn.Module:
    for name in path.split('.'):
        module = getattr(module, name)
    return module


def set_module(module: nn.Module, path: str, value: nn.Module) -> None:
    parent, _, name = path.rpartition('.')
    setattr(get_module(module, parent) if parent else module, name, value)


@torch.no_grad()
def fold_norms_into_conv(conv: nn.Module, norms) -> nn.Module:
    """The deployed form of ``conv`` with eval-mode affine ``norms`` (applied in order
    after it) folded in.  A deployed synapse is folded in place and returned."""
    synapse = synapse_of(conv)
    if synapse is None:
        raise TypeError(f'cannot fold norms into {type(conv).__name__}: not an mmqsd '
                        'quantised conv / linear')
    scale = torch.ones(synapse.out_channels, dtype=synapse.bias.dtype, device=synapse.bias.device)
    shift = torch.zeros_like(scale)
    for norm in norms:
        a, c = affine_of_bn(norm)
        scale, shift = a * scale, a * shift + c
    synapse.fold_affine_(scale, shift)
    return synapse


def settle_lsq_steps(model: nn.Module) -> nn.Module:
    """Initialise every LSQ step not yet initialised from its weights, as the training
    form's first call would (:meth:`~mmqsd.layers.LSQWeightMixin.init_step_`), so that a
    converted copy computes what the training model computes."""
    for module in model.modules():
        if isinstance(module, LSQWeightMixin) and module.quantized \
                and not bool(module.step_initialized):
            module.init_step_()
    return model


def fuse_norms(model: nn.Module, inplace: bool = False) -> nn.Module:
    """Return ``model`` (in eval mode) with every declared BN/MPRF chain folded."""
    model = settle_lsq_steps(model if inplace else copy.deepcopy(model))
    model.eval()
    for module in list(model.modules()):
        chains = getattr(module, 'fusion_chains', None)
        if chains is None:
            continue
        for conv_path, norm_paths in chains():
            norms = [get_module(module, p) for p in norm_paths]
            present = [(p, n) for p, n in zip(norm_paths, norms) if n is not None
                       and not isinstance(n, nn.Identity)]
            if not present:
                continue
            set_module(module, conv_path, fold_norms_into_conv(get_module(module, conv_path),
                                                               [n for _, n in present]))
            for path, _ in present:
                set_module(module, path, nn.Identity())
    return model


@torch.no_grad()
def fold_padding_norm(repconv: RepConv) -> None:
    """Remove a RepConv's BNAndPad (``u -> a*u + c``, border ``c``), in place.

    ``dw(pad_c(a*u + c)) = dw(pad_0(a*u)) + c * sum(w_dw)``: ``a`` folds into
    ``pw_in``, the depthwise conv zero-pads itself and gains the bias ``c * sum(w_dw)``.
    """
    if isinstance(repconv.bn_pad, nn.Identity):
        return
    scale, shift = affine_of_bn(repconv.bn_pad.eval())
    repconv.pw_in = synapse_of(repconv.pw_in)
    repconv.pw_in.fold_affine_(scale, torch.zeros_like(shift))
    dw = synapse_of(repconv.dw)
    tap_sum = dw.effective_weight().sum((1, 2, 3)).to(shift)
    dw.fold_affine_(torch.ones_like(shift), shift * tap_sum)
    dw.padding = (1, 1)
    repconv.dw = dw
    repconv.bn_pad = nn.Identity()


@torch.no_grad()
def fold_layer_scales(block: TransformerBlock) -> None:
    """Multiply a transformer block's layer scales into the last conv of each branch (after
    its norms were folded by :func:`fuse_norms`) and drop them, in place."""
    for scale, parent, name in ((block.layer_scale1, block.attn.proj, 'pw_out'),
                                (block.layer_scale2, block.mlp, 'fc2')):
        if scale is not None:
            synapse = synapse_of(getattr(parent, name))
            synapse.fold_affine_(scale.detach(), torch.zeros_like(scale))
            setattr(parent, name, synapse)
    block.layer_scale1 = block.layer_scale2 = None
