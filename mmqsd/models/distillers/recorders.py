"""Forward-hook recorders of attention q/k/v for fine-grained distillation (QSD Sec. 4.3).

A :class:`QKVRecorder` selects the attention layers of a model by module type
and/or a regular expression on the module name, and while it is active (a
context manager) captures what each layer's ``q``, ``k`` and ``v`` branches
emit - for Q-SDSA the IE-LIF spikes (Fig. 1a), for the ANN counterpart the
real-valued activations - split per head.  The model's forward is untouched.
"""
import re
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from ...layers import SpikeProductAttention, SpikingNeuron, split_heads

#: Attention modules recorded by default: they expose ``num_heads`` and q/k/v branches.
ATTENTION_TYPES = (SpikeProductAttention, )
BRANCHES = ('q', 'k', 'v')


def _type_matches(module: nn.Module, types) -> bool:
    """``types`` holds classes or class names; names match subclasses too."""
    names = {t for t in types if isinstance(t, str)}
    classes = tuple(t for t in types if not isinstance(t, str))
    return isinstance(module, classes) or any(c.__name__ in names for c in type(module).__mro__)


def select_attention_layers(model: nn.Module, module_types: Sequence = ATTENTION_TYPES,
                            name_pattern: Optional[str] = None) -> Dict[str, nn.Module]:
    """Attention modules of ``model`` (in definition order) matching type and name.

    ``name_pattern`` is searched (:func:`re.search`) in the module name, e.g.
    ``r'stages\\.3\\.'`` keeps the last stage of a QSD-Transformer.
    """
    layers = {name: module for name, module in model.named_modules()
              if _type_matches(module, module_types)
              and (name_pattern is None or re.search(name_pattern, name))}
    if not layers:
        raise ValueError(f'no attention layer of {type(model).__name__} matches module_types='
                         f'{[getattr(t, "__name__", t) for t in module_types]} and name_pattern='
                         f'{name_pattern!r}; FGD needs Q-SDSA-like modules (num_heads and q/k/v '
                         'branches): check the backbone type or the recorder settings')
    for name, module in layers.items():
        missing = [b for b in ('num_heads', ) + BRANCHES if not hasattr(module, b)]
        if missing:
            raise ValueError(f'attention layer {name!r} ({type(module).__name__}) has no '
                             f'{missing}; select modules with num_heads and q/k/v branches')
    return layers


class QKVRecorder:
    """Capture per-head q/k/v of selected attention layers with forward hooks.

    Use as a context manager: hooks are registered on entry and removed on exit,
    and :attr:`records` (cleared on entry and exit) holds, per selected layer in
    definition order, ``{'q': x, 'k': x, 'v': x}`` with ``x`` of shape
    ``(T, B, heads, N, d)``.  A spike-train output is recorded as its value.

    Args:
        model: the module to record from (a backbone or a whole model).
        module_types: attention module classes or class names.
        name_pattern: optional regex the module name must contain.
        detach: store detached tensors (for the teacher; run its forward under
            ``torch.no_grad()`` too, so that no autograd graph is built at all).
    """

    def __init__(self, model: nn.Module, module_types: Sequence[Union[type, str]] = ATTENTION_TYPES,
                 name_pattern: Optional[str] = None, detach: bool = False):
        self.layers = select_attention_layers(model, module_types, name_pattern)
        self.detach = detach
        self.records: List[Dict[str, torch.Tensor]] = []
        self._handles = []

    @property
    def layer_names(self) -> List[str]:
        return list(self.layers)

    @property
    def num_heads(self) -> List[int]:
        return [module.num_heads for module in self.layers.values()]

    def _hook(self, index: int, branch: str, num_heads: int):
        name = self.layer_names[index]

        def hook(module, inputs, output):
            neuron = getattr(module, 'neuron', None)
            value = neuron.to_value(output) if isinstance(neuron, SpikingNeuron) else output
            if value.dim() != 5:
                raise ValueError(f'{name}.{branch} emitted shape {tuple(value.shape)}; the FGD '
                                 'recorder expects (T, B, C, H, W) maps')
            if branch in self.records[index]:
                raise RuntimeError(f'{name}.{branch} ran twice in one recorded pass; record one '
                                   'forward per context')
            value = value.detach() if self.detach else value
            self.records[index][branch] = split_heads(value, num_heads)
        return hook

    def __enter__(self) -> 'QKVRecorder':
        self.records = [{} for _ in self.layers]
        for index, module in enumerate(self.layers.values()):
            for branch in BRANCHES:
                hook = self._hook(index, branch, module.num_heads)
                self._handles.append(getattr(module, branch).register_forward_hook(hook))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self.records = []
