"""Audit that a computation is spike-driven: no multiplication of two real-valued tensors.

:class:`SpikeDrivenAudit` is a :class:`torch.overrides.TorchFunctionMode` that
sees every torch call made inside it and, for each multiplication-type op,
records whether an operand is binary (all entries 0 or 1), in which case the
"multiplication" is a gated accumulation (CSDformer Sec. 3.3.2: "each operator
... is spike-driven"):

* ``conv*`` / ``linear``: the input must be binary (the weights are the
  synapses; the bias is an addition);
* ``matmul`` / ``mm`` / ``bmm`` / ``mul`` / ``div`` / ``einsum``: one operand
  must be binary, or at most one operand is a tensor with more than one
  element (a constant scaling such as a threshold or ``1/T``).

The audit checks values, not dtypes, so it works on float spike tensors.
"""
from dataclasses import dataclass
from typing import List, Tuple

import torch
from torch.overrides import TorchFunctionMode

from ..ops import is_binary

SYNAPTIC_OPS = frozenset({'conv1d', 'conv2d', 'conv3d', 'linear'})
PRODUCT_OPS = frozenset({'matmul', 'mm', 'bmm', 'mul', 'div', 'einsum', 'addmm', 'baddbmm'})


@dataclass
class OpRecord:
    """One multiplication-type call: op name, operand shapes, which operands were binary."""
    name: str
    shapes: Tuple[Tuple[int, ...], ...]
    binary: Tuple[bool, ...]
    spike_driven: bool


def _tensor_operands(name: str, args) -> List[torch.Tensor]:
    flat = args[1:] if name == 'einsum' else args
    if name == 'einsum' and len(flat) == 1 and isinstance(flat[0], (list, tuple)):
        flat = flat[0]
    return [a for a in flat if isinstance(a, torch.Tensor)]


class SpikeDrivenAudit(TorchFunctionMode):
    """``with SpikeDrivenAudit() as audit: snn(x)``; ``audit.violations`` lists offenders."""

    def __init__(self):
        super().__init__()
        self.records: List[OpRecord] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, '__name__', '')
        if name in SYNAPTIC_OPS or name in PRODUCT_OPS:
            self._record(name, args)
        return func(*args, **(kwargs or {}))

    def _record(self, name: str, args) -> None:
        if name in SYNAPTIC_OPS:
            operands = list(args[:2])
            binary = (is_binary(operands[0]), False)
            ok = binary[0]
        else:
            operands = [t for t in _tensor_operands(name, args)[:2] if t.numel() > 1]
            binary = tuple(is_binary(t) for t in operands)
            ok = len(operands) < 2 or any(binary)
        shapes = tuple(tuple(t.shape) for t in operands)
        self.records.append(OpRecord(name, shapes, binary, ok))

    @property
    def violations(self) -> List[OpRecord]:
        """Multiplications of two real-valued (non-binary) tensors."""
        return [r for r in self.records if not r.spike_driven]
