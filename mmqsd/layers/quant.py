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
from ..ops.spike_synapse import int8_training_available, is_tracing, spike_conv, spike_norm
from .multistep import fold_batch


def _init_step_before_first_call(module: 'LSQWeightMixin', args) -> None:
    """Forward pre-hook: derive a step not yet initialised from the current weights, once."""
    if is_tracing():
        return
    if not bool(module.step_initialized):
        module.init_step_()
    hooks = module._forward_pre_hooks
    for key in [k for k, hook in hooks.items() if hook is _init_step_before_first_call]:
        del hooks[key]


def init_pending_steps(model: nn.Module) -> int:
    """Do now, eagerly, the first-call step initialisation of every LSQ layer in ``model``
    not yet called.  Call it before ``torch.compile``-d code first runs the model: while
    compiling, the pre-hook does nothing (it would read a buffer's value), so the steps
    would keep their construction-time values.  Returns the number of layers done."""
    pending = [m for m in model.modules()
               if any(h is _init_step_before_first_call for h in m._forward_pre_hooks.values())]
    for module in pending:
        _init_step_before_first_call(module, ())
    return len(pending)


class LSQWeightMixin:
    """Adds LSQ weight quantisation to a layer that has ``weight`` (out, ...)."""

    sample_dims: int
    #: whether spikes (outputs marked by a neuron) take the exact int8 forward
    _reads_spikes_in_int8 = False

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
        synapse = self._spike_synapse(x) or self._synapse
        return fold_batch(x, lambda batch: synapse(batch, weight, self.bias), self.sample_dims)

    def _spike_synapse(self, x: torch.Tensor):
        """For spikes ``x`` (marked by a neuron) on a device with int8 kernels: the synapse
        as an exact int8 forward (:func:`mmqsd.ops.spike_synapse.spike_conv`, same values
        and gradients as :meth:`_synapse`); otherwise None."""
        norm = spike_norm(x)
        applies = norm is not None and self.quantized and self._reads_spikes_in_int8 \
            and not isinstance(self.padding, str) and self.padding_mode == 'zeros' \
            and int8_training_available(x)
        if not applies:
            return None
        q = lsq_integer_weights(self.weight, self.step_size, self.weight_bits)
        return lambda batch, weight, bias: spike_conv(
            batch, norm, weight, q, self.step_size, bias, self.stride, self.padding,
            self.dilation, self.groups)

    def extra_repr(self):
        return super().extra_repr() + f', weight_bits={self.weight_bits}'


class QuantConv2d(LSQWeightMixin, nn.Conv2d):
    """``nn.Conv2d`` with LSQ weights; input ``(..., C, H, W)``."""
    sample_dims = 3
    _reads_spikes_in_int8 = True

    def __init__(self, *args, weight_bits: Optional[int] = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_quant(weight_bits)

    def _synapse(self, x, weight, bias=None):
        if self.groups == 1 or x.dim() != 4 or x.is_contiguous(memory_format=torch.channels_last):
            return F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation,
                            self.groups)
        # grouped (depthwise) convs: oneDNN's backward is ~2x faster channels last on CPU
        y = F.conv2d(x.contiguous(memory_format=torch.channels_last), weight, bias, self.stride,
                     self.padding, self.dilation, self.groups)
        return y.contiguous()


class QuantConv1d(LSQWeightMixin, nn.Conv1d):
    """``nn.Conv1d`` with LSQ weights; input ``(..., C, L)``."""
    sample_dims = 2
    _reads_spikes_in_int8 = True

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
