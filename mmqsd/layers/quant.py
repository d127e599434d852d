"""LSQ-quantised Conv1d / Conv2d / Linear (QSD Eq. 4-5) that accept spike trains.

Each layer keeps full-precision latent weights and a learnable per-output-channel
step ``step_size``; the forward uses ``w_hat = step * Q(w)``.  The step is
initialised from the weights (:func:`mmqsd.ops.lsq_init_step`) the first time
it is needed, also after loading a full-precision checkpoint that has no step.

For deployment, :meth:`freeze_` replaces the latent weights by the integers
``Q(w)`` (the step becomes the per-channel scale), after which
:meth:`fold_affine_` folds a following per-channel affine map (BN, MPRF: QSD
Appendix D, Eq. 24-26) into scale and bias without touching the integers.
A frozen layer fed by :class:`ScaledInteger` counts runs the exact int8 path
(:mod:`mmqsd.ops.int8_kernels`); ``fused_neuron`` (set by
:func:`mmqsd.deploy.to_integer_inference`) makes it emit the next IE-LIF's counts.
"""
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import (check_weight_bits, counts_from_potential, lsq_fake_quant, lsq_init_step,
                   lsq_integer_weights)
from ..ops.int8_kernels import Epilogue, Int8Conv2d, Int8DepthwiseSteps, Int8Linear
from .spike_train import ScaledInteger, SpikeTrain, fold_batch, synaptic_forward


@dataclass(frozen=True)
class FusedNeuron:
    """An IE-LIF (``levels``, ``gain``, ``norm``) fused into the synapse that feeds it."""
    levels: int
    gain: float
    norm: float


class LSQWeightMixin:
    """Adds LSQ weight quantisation to a layer that has ``weight`` (out, ...)."""

    sample_dims: int

    def _setup_quant(self, weight_bits: Optional[int]) -> None:
        self.weight_bits = check_weight_bits(weight_bits)
        self.frozen = False
        self.fused_neuron: Optional[FusedNeuron] = None
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
        self._clear_inference_cache()

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
        self._clear_inference_cache()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A full-precision checkpoint (no step) must trigger re-initialisation.
        if self.quantized and prefix + 'weight' in state_dict \
                and prefix + 'step_size' not in state_dict:
            self.step_initialized.fill_(False)
            state_dict = dict(state_dict)
            state_dict[prefix + 'step_size'] = self.step_size.detach().clone()
            state_dict[prefix + 'step_initialized'] = torch.tensor(False)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _clear_inference_cache(self) -> None:
        self._inference_cache = {}

    def _cached(self, key, build):
        """Per-device inference state (kernels, scales), rebuilt after weights change."""
        cache = self.__dict__.setdefault('_inference_cache', {})
        if key not in cache:
            cache[key] = build()
        return cache[key]

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop('_inference_cache', None)  # oneDNN weight packs cannot be copied
        return state

    def _epilogue(self, input_scale: float, device) -> Epilogue:
        """Scale and bias applied to the int32 sum, with a fused neuron's gain folded in."""
        def build():
            gain = self.fused_neuron.gain if self.fused_neuron is not None else 1.0
            scale = (self.step_size.detach() * (input_scale * gain)).to(device)
            bias = None if self.bias is None else (self.bias.detach() * gain).to(device)
            levels = self.fused_neuron.levels if self.fused_neuron is not None else None
            return Epilogue(scale.contiguous(), bias, levels)
        return self._cached(('epilogue', input_scale, device), build)

    def _int8_forward(self, values: torch.Tensor, input_scale: float, steps: int = 1):
        """Exact path: uint8 inputs x int8 weights -> int32, then per-channel scale and bias
        (and the fused neuron, whose counts are returned as :class:`ScaledInteger`).

        ``values`` are counts (``steps = 1``) or binary spikes with each channel's
        ``steps`` virtual steps as adjacent channels (``c * steps + t``): the weights
        are repeated ``steps`` times, so the int32 accumulator sums every step (Eq. 10)
        and every MAC has a binary input.
        """
        epilogue = self._epilogue(input_scale, values.device)
        kernel = self._cached(('int8', values.device, steps), lambda: self._int8_kernel(steps))
        out = fold_batch(values, lambda v: self._int8_synapse(kernel, v, epilogue),
                         self.sample_dims)
        if self.fused_neuron is None:
            return out
        return ScaledInteger(out, 1.0 / self.fused_neuron.norm)

    def _int8_synapse(self, kernel, values, epilogue):
        if isinstance(kernel, Int8Linear) and self.sample_dims > 1:  # 1x1: rows of pixels
            return over_pixels(values, lambda rows: kernel(rows, epilogue))
        return kernel(values, epilogue)

    def _float_forward(self, x, weight):
        return synaptic_forward(x, lambda inp, bias: self._synapse(inp, weight, bias),
                                self.bias, self.sample_dims)

    def _frozen_float_forward(self, x):
        """Real-valued input to a frozen layer: float weights ``step * Q(w)`` made once."""
        weight = self._cached(('weight', self.weight.device, self.weight.dtype),
                              lambda: self.effective_weight().detach())
        out = self._float_forward(x, weight)
        if self.fused_neuron is None:
            return out
        counts = counts_from_potential(out * self.fused_neuron.gain, self.fused_neuron.levels)
        return ScaledInteger(counts, 1.0 / self.fused_neuron.norm)

    def forward(self, x):
        if self.frozen:
            if isinstance(x, ScaledInteger) and x.values.dtype == torch.uint8:
                return self._int8_forward(x.values, x.scale)
            if isinstance(x, SpikeTrain) and x.spikes.dtype == torch.uint8:
                channel_dim = x.spikes.dim() - self.sample_dims
                steps_as_channels = x.spikes.movedim(0, channel_dim).flatten(channel_dim - 1,
                                                                             channel_dim)
                return self._int8_forward(steps_as_channels, x.scale, x.num_steps)
            return self._frozen_float_forward(x)
        return self._float_forward(x, self.effective_weight())

    def extra_repr(self):
        return super().extra_repr() + f', weight_bits={self.weight_bits}'


def over_pixels(x: torch.Tensor, linear) -> torch.Tensor:
    """Apply ``linear`` (rows ``(M, C)`` -> ``(M, O)``) to every position of ``(N, C, *S)``.

    For channels-last memory the rows are a free view, and so is the result.
    """
    rows = x.movedim(1, -1)
    out = linear(rows.reshape(-1, rows.shape[-1]))
    return out.view(*rows.shape[:-1], out.shape[-1]).movedim(-1, 1)


def use_onednn_float(x: torch.Tensor) -> bool:
    """Whether :func:`pointwise_conv` applies: float32 CPU tensors with oneDNN."""
    return x.device.type == 'cpu' and x.dtype == torch.float32 \
        and torch.backends.mkldnn.is_available()


def pointwise_conv(x: torch.Tensor, weight: torch.Tensor, bias=None) -> torch.Tensor:
    """1x1 conv of ``(N, C, H, W)`` on oneDNN (differentiable).

    For single-threaded, batch < 16 1x1 convs PyTorch picks its BLAS fallback,
    which on the project's AMD CPU runs 3x slower than oneDNN in channels-last
    memory (docs/benchmarks.md).
    """
    return torch.ops.aten.mkldnn_convolution(x, weight, bias, [0, 0], [1, 1], [1, 1], 1)


def _int8(weight: torch.Tensor, steps: int = 1) -> torch.Tensor:
    """Frozen integer weights as int8, each input channel repeated for ``steps`` spikes."""
    weight = weight.detach().round().to(torch.int8)
    return weight.repeat_interleave(steps, dim=1) if steps > 1 else weight


class QuantConv2d(LSQWeightMixin, nn.Conv2d):
    """``nn.Conv2d`` with LSQ weights; input ``(..., C, H, W)`` or a spike train."""
    sample_dims = 3

    def __init__(self, *args, weight_bits: Optional[int] = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_quant(weight_bits)

    def _synapse(self, x, weight, bias=None):
        if self._pointwise() and use_onednn_float(x):
            return pointwise_conv(x, weight, bias)
        return F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def _pointwise(self) -> bool:
        return self.kernel_size == (1, 1) and self.stride == (1, 1) and self.groups == 1 \
            and self.padding == (0, 0)

    def _int8_kernel(self, steps: int = 1):
        if steps > 1 and self.groups == self.in_channels == self.out_channels:
            return Int8DepthwiseSteps(_int8(self.weight), self.stride, self.padding,
                                      self.dilation, steps)
        weight = _int8(self.weight, steps)
        if self._pointwise():
            return Int8Linear(weight[:, :, 0, 0])
        return Int8Conv2d(weight, self.stride, self.padding, self.dilation, self.groups)


class QuantConv1d(LSQWeightMixin, nn.Conv1d):
    """``nn.Conv1d`` with LSQ weights; input ``(..., C, L)`` or a spike train.

    The integer path runs it as a ``1 x k`` Conv2d on ``(N, C, 1, L)`` (a GEMM
    over positions for ``k = 1``).
    """
    sample_dims = 2

    def __init__(self, *args, weight_bits: Optional[int] = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_quant(weight_bits)

    def _synapse(self, x, weight, bias=None):
        if self._pointwise() and use_onednn_float(x):
            return pointwise_conv(x.unsqueeze(2), weight.unsqueeze(2), bias).squeeze(2)
        return F.conv1d(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def _pointwise(self) -> bool:
        return self.kernel_size == (1, ) and self.stride == (1, ) and self.groups == 1 \
            and self.padding == (0, )

    def _int8_kernel(self, steps: int = 1):
        weight = _int8(self.weight, steps)
        if self._pointwise():
            return Int8Linear(weight[:, :, 0])
        return Int8Conv2d(weight.unsqueeze(2), (1, ) + self.stride, (0, ) + self.padding,
                          (1, ) + self.dilation, self.groups)

    def _int8_synapse(self, kernel, values, epilogue):
        if isinstance(kernel, Int8Linear):
            return super()._int8_synapse(kernel, values, epilogue)
        return kernel(values.unsqueeze(2), epilogue).squeeze(2)


class QuantLinear(LSQWeightMixin, nn.Linear):
    """``nn.Linear`` with LSQ weights; input ``(..., C)`` or a spike train."""
    sample_dims = 1

    def __init__(self, *args, weight_bits: Optional[int] = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_quant(weight_bits)

    def _synapse(self, x, weight, bias=None):
        return F.linear(x, weight, bias)

    def _int8_kernel(self, steps: int = 1):
        return Int8Linear(_int8(self.weight, steps))
