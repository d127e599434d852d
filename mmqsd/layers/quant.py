"""LSQ-quantised Conv1d / Conv2d / Linear (QSD Eq. 4-5), the training form of a synapse.

Each layer keeps full-precision latent weights and a learnable per-output-channel
step ``step_size``; the forward uses ``w_hat = step * Q(w)`` and public PyTorch
ops only, so tracers (``torch.jit.trace``, mmengine's complexity counter) and
``torch.compile`` see a pure function.

The step is initialised from the weights (:func:`mmqsd.ops.lsq_init_step`)
outside ``forward``: at construction, when a checkpoint without a step is
loaded, by :meth:`LSQWeightMixin.init_step_`, and once more right before the
first call (a forward pre-hook that removes itself; it does nothing while
tracing or compiling), so that weights re-drawn by an initialiser after
construction get their own step.  The inference forms (BN folded, int8
weights and their scales as buffers) are modules of :mod:`mmqsd.deploy`.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import check_weight_bits, lsq_fake_quant, lsq_init_step, lsq_integer_weights
from .multistep import fold_batch


def _is_tracing() -> bool:
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


def _init_step_before_first_call(module: 'LSQWeightMixin', args) -> None:
    """Forward pre-hook: derive a step not yet initialised from the current weights, once."""
    if _is_tracing():
        return
    if not bool(module.step_initialized):
        module.init_step_()
    hooks = module._forward_pre_hooks
    for key in [k for k, hook in hooks.items() if hook is _init_step_before_first_call]:
        del hooks[key]


class LSQWeightMixin:
    """Adds LSQ weight quantisation to a layer that has ``weight`` (out, ...)."""

    sample_dims: int

    def _setup_quant(self, weight_bits: Optional[int]) -> None:
        self.weight_bits = check_weight_bits(weight_bits)
        if self.weight_bits is not None:
            self.step_size = nn.Parameter(lsq_init_step(self.weight, self.weight_bits))
            self.register_buffer('step_initialized', torch.tensor(False))
            self.register_forward_pre_hook(_init_step_before_first_call)

    @property
    def quantized(self) -> bool:
        return self.weight_bits is not None

    @torch.no_grad()
    def init_step_(self) -> None:
        """Set the step to LSQ's initial value for the current weights (Esser et al. 2020)."""
        if self.quantized:
            self.step_size.copy_(lsq_init_step(self.weight, self.weight_bits))
            self.step_initialized.fill_(True)

    def effective_weight(self) -> torch.Tensor:
        """The weight the layer computes with (``w_hat`` of Eq. 4)."""
        if not self.quantized:
            return self.weight
        return lsq_fake_quant(self.weight, self.step_size, self.weight_bits)

    def integer_weight(self) -> torch.Tensor:
        """``Q(w)`` as int8 (requires a quantised layer), so that ``w_hat = step * Q(w)``."""
        if not self.quantized:
            raise RuntimeError('integer_weight() needs weight_bits; this layer is full precision')
        return lsq_integer_weights(self.weight, self.step_size, self.weight_bits)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A full-precision checkpoint (no step): derive the step from the loaded weights.
        missing_step = self.quantized and prefix + 'weight' in state_dict \
            and prefix + 'step_size' not in state_dict
        if missing_step:
            state_dict = dict(state_dict)
            state_dict[prefix + 'step_size'] = self.step_size.detach().clone()
            state_dict[prefix + 'step_initialized'] = torch.tensor(False)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        if missing_step:
            self.init_step_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(*lead, *sample)`` with ``sample_dims`` sample axes; every leading axis
        (time, batch) is folded into the batch of the op."""
        weight = self.effective_weight()
        return fold_batch(x, lambda batch: self._synapse(batch, weight, self.bias),
                          self.sample_dims)

    def extra_repr(self):
        return super().extra_repr() + f', weight_bits={self.weight_bits}'


class QuantConv2d(LSQWeightMixin, nn.Conv2d):
    """``nn.Conv2d`` with LSQ weights; input ``(..., C, H, W)``."""
    sample_dims = 3

    def __init__(self, *args, weight_bits: Optional[int] = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_quant(weight_bits)

    def _synapse(self, x, weight, bias=None):
        return F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)


class QuantConv1d(LSQWeightMixin, nn.Conv1d):
    """``nn.Conv1d`` with LSQ weights; input ``(..., C, L)``."""
    sample_dims = 2

    def __init__(self, *args, weight_bits: Optional[int] = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_quant(weight_bits)

    def _synapse(self, x, weight, bias=None):
        return F.conv1d(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)


class QuantLinear(LSQWeightMixin, nn.Linear):
    """``nn.Linear`` with LSQ weights; input ``(..., C)``."""
    sample_dims = 1

    def __init__(self, *args, weight_bits: Optional[int] = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_quant(weight_bits)

    def _synapse(self, x, weight, bias=None):
        return F.linear(x, weight, bias)
