"""Fold BN and MPRF into the preceding quantised conv (QSD Appendix D, Eq. 24-26).

A per-channel affine map after a quantised conv, ``y -> a*y + c`` (BN in eval
mode, MPRF with its running statistics), becomes part of that conv:
``w_f = a * step * Q(w)``, ``b_f = a * b + c``.  The integers ``Q(w)`` are kept,
only the per-channel scale and the bias change, so a fused model still runs
with b-bit weights.  Blocks declare what folds where with ``fusion_chains()``:
``[(conv_path, [norm_path, ...]), ...]`` in forward order.
"""
import copy

import torch
from torch import nn

from ..layers import affine_of_bn


def _get(module: nn.Module, path: str):
    for name in path.split('.'):
        module = getattr(module, name)
    return module


def _set(module: nn.Module, path: str, value: nn.Module):
    parent, _, name = path.rpartition('.')
    setattr(_get(module, parent) if parent else module, name, value)


@torch.no_grad()
def fold_norms_into_conv(conv: nn.Module, norms) -> None:
    """Fold eval-mode affine ``norms`` (applied in order after ``conv``) into ``conv``."""
    scale = torch.ones(conv.weight.shape[0], dtype=conv.weight.dtype, device=conv.weight.device)
    shift = torch.zeros_like(scale)
    for norm in norms:
        a, c = affine_of_bn(norm)
        scale, shift = a * scale, a * shift + c
    conv.fold_affine_(scale, shift)


def fuse_norms(model: nn.Module, inplace: bool = False) -> nn.Module:
    """Return ``model`` (in eval mode) with every declared BN/MPRF chain folded."""
    model = model if inplace else copy.deepcopy(model)
    model.eval()
    for module in list(model.modules()):
        chains = getattr(module, 'fusion_chains', None)
        if chains is None:
            continue
        for conv_path, norm_paths in chains():
            norms = [_get(module, p) for p in norm_paths]
            present = [(p, n) for p, n in zip(norm_paths, norms) if n is not None
                       and not isinstance(n, nn.Identity)]
            if not present:
                continue
            fold_norms_into_conv(_get(module, conv_path), [n for _, n in present])
            for path, _ in present:
                _set(module, path, nn.Identity())
    return model
