"""Activation checkpointing of backbone blocks (the ``with_cp`` argument).

With ``with_cp=True`` a backbone runs each block (stage layer, tokenizer,
transformer block) through :func:`torch.utils.checkpoint.checkpoint`
(non-reentrant): the block keeps only its input for the backward pass and
recomputes its activations there, trading one more forward per block for
the memory of everything saved inside it (Chen et al. 2016, "Training Deep
Nets with Sublinear Memory Cost"; mmpretrain's backbones offer the same
switch).  Losses and gradients are unchanged; docs/benchmarks.md records the
memory saved and the time it costs.

The recomputation runs the block's forward again in training mode, which would
update the running statistics of every BN / MPRF (QSD Eq. 12) in it a second
time, and :class:`~mmqsd.layers.BNAndPad` reads its running statistics in the
forward, so the recomputed activations (and gradients) would differ too.
:func:`checkpointed_call` therefore snapshots the running statistics before
the block's forward and recomputes from a copy of that snapshot, leaving the
module's own buffers as the first forward left them.  Forward hooks run again
during recomputation (PyTorch's behaviour); mmqsd's FGD recorders are removed
before the backward pass, so they record once.
"""
import contextlib
from typing import Iterator, List, Tuple

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

#: Buffers that a normalisation layer updates in training mode (BN and MPRF).
RUNNING_STATS = ('running_mean', 'running_var', 'num_batches_tracked')


def running_stat_slots(module: nn.Module) -> List[Tuple[nn.Module, str]]:
    """``(submodule, buffer name)`` of every running statistic inside ``module``."""
    return [(m, name) for m in module.modules() for name in RUNNING_STATS
            if isinstance(m._buffers.get(name), torch.Tensor)]


class _RecomputeFromSnapshot:
    """``context_fn`` of :func:`checkpoint` that recomputes with the statistics of the forward.

    The forward context copies the running statistics as they are before the
    block runs; the recompute context swaps fresh copies of that snapshot in
    for the duration of the recomputation (so it sees, and updates, exactly
    what the forward saw) and puts the module's own buffers back afterwards.
    Buffers are swapped, not copied into: the recomputed graph may hold them
    (BNAndPad multiplies by ``running_mean``), so writing to them after the
    recomputation would trip autograd's in-place check.
    """

    def __init__(self, block: nn.Module):
        self.slots = running_stat_slots(block)
        self.snapshot: List[torch.Tensor] = []

    @contextlib.contextmanager
    def _forward(self) -> Iterator[None]:
        self.snapshot = [m._buffers[name].clone() for m, name in self.slots]
        yield

    @contextlib.contextmanager
    def _recompute(self) -> Iterator[None]:
        own = [m._buffers[name] for m, name in self.slots]
        for (m, name), saved in zip(self.slots, self.snapshot):
            m._buffers[name] = saved.clone()
        try:
            yield
        finally:
            for (m, name), buffer in zip(self.slots, own):
                m._buffers[name] = buffer

    def __call__(self):
        return self._forward(), self._recompute()


def checkpointed_call(block: nn.Module, x: torch.Tensor, with_cp: bool) -> torch.Tensor:
    """``block(x)``, under activation checkpointing when it can save memory.

    Checkpointing is used when ``with_cp`` is set, ``block`` is in training mode
    (frozen stages are in eval mode) and gradients are enabled; otherwise (eval,
    ``torch.no_grad()``, inference forms) this is a plain call.  ``x`` is any
    tensor the block accepts, e.g. ``(T, B, C, H, W)``; the output is the block's.
    """
    if not (with_cp and block.training and torch.is_grad_enabled()):
        return block(x)
    return checkpoint(block, x, use_reentrant=False, context_fn=_RecomputeFromSnapshot(block))
