"""LSQ-quantised Conv1d / Conv2d / Linear (QSD Eq. 4-5) that accept spike trains.

Each layer keeps full-precision latent weights and a learnable per-output-channel
step ``step_size``; the forward uses ``w_hat = step * Q(w)``.  The step is
initialised from the weights (:func:`mmqsd.ops.lsq_init_step`) the first time
it is needed, also after loading a full-precision checkpoint that has no step.

For deployment, :meth:`freeze_` replaces the latent weights by the integers
``Q(w)`` (the step becomes the per-channel scale), after which
:meth:`fold_affine_` folds a following per-channel affine map (BN, MPRF: QSD
Appendix D, Eq. 24-26) into scale and bias without touching the integers.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import check_weight_bits, lsq_fake_quant, lsq_init_step, lsq_integer_weights
from ..ops.int_gemm import conv_weight_to_cols, int8_conv2d, int8_linear
from .spike_train import ScaledInteger, fold_batch, synaptic_forward


class LSQWeightMixin:
    """Adds LSQ weight quantisation to a layer that has ``weight`` (out, ...)."""

    sample_dims: int

    def _setup_quant(self, weight_bits: Optional[int]) -> None:
        self.weight_bits = check_weight_bits(weight_bits)
        self.frozen = False
        if self.weight_bits is not None:
            self.step_size = nn.Parameter(torch.ones(self.weight.shape[0]))
            self.register_buffer('step_initialized', torch.tensor(False))

    @property
    def quantized(self) -> bool:
        return self.weight_bits is not None

    def _ensure_step(self) -> None:
        if not bool(self.step_initialized):
            with torch.no_grad():
                self.step_size.copy_(lsq_init_step(self.weight, self.weight_bits))
                self.step_initialized.fill_(True)

    def effective_weight(self) -> torch.Tensor:
        """The weight the layer computes with (``w_hat`` of Eq. 4)."""
        if not self.quantized:
            return self.weight
        if self.frozen:
            return self.weight * self.step_size.view(-1, *([1] * (self.weight.dim() - 1)))
        self._ensure_step()
        return lsq_fake_quant(self.weight, self.step_size, self.weight_bits)

    def integer_weight(self) -> torch.Tensor:
        """``Q(w)`` as int8 (requires a quantised layer)."""
        if not self.quantized:
            raise RuntimeError('integer_weight() needs weight_bits; this layer is full precision')
        if self.frozen:
            return self.weight.detach().round().to(torch.int8)
        self._ensure_step()
        return lsq_integer_weights(self.weight, self.step_size, self.weight_bits)

    @torch.no_grad()
    def freeze_(self) -> None:
        """Store the integer weights ``Q(w)`` in ``weight``; ``step_size`` is now the scale."""
        if self.quantized and not self.frozen:
            self.weight.copy_(self.integer_weight().to(self.weight.dtype))
            self.frozen = True

    @torch.no_grad()
    def fold_affine_(self, scale: torch.Tensor, shift: torch.Tensor) -> None:
        """Fold ``y -> scale * y + shift`` (per output channel) into this layer."""
        self.freeze_()
        if self.quantized:
            self.step_size.mul_(scale)
        else:
            self.weight.mul_(scale.view(-1, *([1] * (self.weight.dim() - 1))))
        if self.bias is None:
            self.bias = nn.Parameter(torch.zeros_like(shift))
        self.bias.copy_(self.bias * scale + shift)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A full-precision checkpoint (no step) must trigger re-initialisation.
        if self.quantized and prefix + 'weight' in state_dict \
                and prefix + 'step_size' not in state_dict:
            self.step_initialized.fill_(False)
            state_dict = dict(state_dict)
            state_dict[prefix + 'step_size'] = self.step_size.detach().clone()
            state_dict[prefix + 'step_initialized'] = torch.tensor(False)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _int8_weight(self) -> torch.Tensor:
        """Frozen integer weights in the layout of the int8 kernel (cached, not saved)."""
        cached = getattr(self, '_int8_cache', None)
        if cached is None or cached.device != self.weight.device:
            cached = self._int8_layout(self.weight.detach().round().to(torch.int8))
            self._int8_cache = cached
        return cached

    def _integer_forward(self, x: ScaledInteger) -> torch.Tensor:
        """Exact path: int8 counts x int8 weights -> int32, then per-channel scale and bias."""
        out = fold_batch(x.values, self._int8_synapse, self.sample_dims)
        scale = (self.step_size * x.scale).view(-1, *([1] * (self.sample_dims - 1)))
        out = out.to(self.step_size.dtype)
        if self.bias is None:
            return out.mul_(scale)
        return torch.addcmul(self.bias.view(scale.shape), out, scale)

    def forward(self, x):
        if isinstance(x, ScaledInteger) and self.quantized and self.frozen \
                and x.values.dtype == torch.int8:
            return self._integer_forward(x)
        weight = self.effective_weight()
        return synaptic_forward(x, lambda inp: self._synapse(inp, weight), self.bias,
                                self.sample_dims)

    def extra_repr(self):
        return super().extra_repr() + f', weight_bits={self.weight_bits}'


class QuantConv2d(LSQWeightMixin, nn.Conv2d):
    """``nn.Conv2d`` with LSQ weights; input ``(..., C, H, W)`` or a spike train."""
    sample_dims = 3

    def __init__(self, *args, weight_bits: Optional[int] = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_quant(weight_bits)

    def _synapse(self, x, weight):
        return F.conv2d(x, weight, None, self.stride, self.padding, self.dilation, self.groups)

    def _int8_layout(self, weight):
        return conv_weight_to_cols(weight) if self.groups == 1 else weight.float()

    def _int8_synapse(self, x):
        if self.groups == 1 and isinstance(self.padding, tuple):
            return int8_conv2d(x, self._int8_weight(), self.kernel_size, self.stride,
                               self.padding, self.dilation)
        # grouped / depthwise: float conv on integer values, exact below 2^24
        return F.conv2d(x.float(), self._int8_weight(), None, self.stride, self.padding,
                        self.dilation, self.groups)


class QuantConv1d(LSQWeightMixin, nn.Conv1d):
    """``nn.Conv1d`` with LSQ weights; input ``(..., C, L)`` or a spike train."""
    sample_dims = 2

    def __init__(self, *args, weight_bits: Optional[int] = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_quant(weight_bits)

    def _synapse(self, x, weight):
        return F.conv1d(x, weight, None, self.stride, self.padding, self.dilation, self.groups)

    def _pointwise(self) -> bool:
        return self.kernel_size == (1, ) and self.groups == 1 and self.stride == (1, )

    def _int8_layout(self, weight):
        return weight[..., 0].t().contiguous() if self._pointwise() else weight.float()

    def _int8_synapse(self, x):
        if self._pointwise():
            return int8_linear(x.transpose(1, 2), self._int8_weight()).transpose(1, 2)
        return F.conv1d(x.float(), self._int8_weight(), None, self.stride, self.padding,
                        self.dilation, self.groups)


class QuantLinear(LSQWeightMixin, nn.Linear):
    """``nn.Linear`` with LSQ weights; input ``(..., C)`` or a spike train."""
    sample_dims = 1

    def __init__(self, *args, weight_bits: Optional[int] = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_quant(weight_bits)

    def _synapse(self, x, weight):
        return F.linear(x, weight)

    def _int8_layout(self, weight):
        return weight.t().contiguous()

    def _int8_synapse(self, x):
        return int8_linear(x, self._int8_weight())
