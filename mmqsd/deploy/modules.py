"""Inference-form modules that :mod:`mmqsd.deploy` substitutes for training modules.

============================  ===================================  ============================
training module (layers/)     spike-driven reference ('spike')     integer forms ('integer',
                                                                   'spike-integer')
============================  ===================================  ============================
``QuantConv*/QuantLinear``    :class:`FloatSynapse` (``w_hat``)    :class:`Int8Synapse`
``IELIF``                     :class:`IELIFSpikes` (float)         :class:`IELIFCounts` /
                                                                   :class:`IELIFSpikes` (uint8)
``LIF``                       :class:`LIFSpikes` (float)           :class:`LIFCounts` /
                                                                   :class:`LIFSpikes` (uint8)
``AttentionProducts``         :class:`SpikeProducts`               :class:`SpikeProducts`
``SpikeSum``                  :class:`SpikeTrainSum`               :class:`SpikeTrainSum`
``SpikeMaxPool2d``            :class:`SpikeTrainMaxPool2d`         :class:`SpikeTrainMaxPool2d`
``SpikeReadout``              :class:`DenseReadout`                :class:`DenseReadout`
============================  ===================================  ============================

Every weight, scale, bias and fused-neuron parameter of a deployed synapse is
a buffer, so ``state_dict()`` says what the model holds (``weight`` int8,
``scale`` / ``bias`` float32) and loads with ``torch.load(weights_only=True)``.
Neurons emit tensors (:class:`~mmqsd.deploy.spike_train.SpikeTrain`: binary,
virtual steps first; :class:`~mmqsd.deploy.spike_train.SpikeCounts`).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import (LSQWeightMixin, QuantConv1d, QuantConv2d, QuantLinear, SpikingNeuron,
                      merge_heads, split_heads)
from ..layers.spiking import max_pool_3x3s2
from ..ops import (counts_from_potential, counts_to_spike_bytes, counts_to_spike_train,
                   ie_lif_counts, lif_multistep)
from ..ops.int8_kernels import Epilogue, Int8Conv2d, Int8DepthwiseSteps, Int8Linear
from ..layers.multistep import fold_batch
from .spike_train import SpikeCounts, SpikeTrain, map_values, spike_matmul, synaptic_forward


# ----------------------------------------------------------------------------- neurons
def check_inference(module: nn.Module) -> None:
    """Deployed modules are inference forms: refuse training mode."""
    if module.training:
        raise RuntimeError(f'{type(module).__name__} is an inference form; call .eval() on the '
                           'deployed model (mmqsd.deploy conversions return it in eval mode)')


class IELIFSpikes(SpikingNeuron):
    """IE-LIF (Eq. 9) emitting its count ``k`` as ``levels`` binary spikes (Eq. 10).

    Returns a :class:`SpikeTrain` ``(levels, *v.shape)`` worth ``1 / norm`` per
    spike: float spikes (``integer=False``, the reference form) or uint8 spikes
    stored with the steps innermost in memory (the int8 synapses read them as
    adjacent channels).  Counts already computed by the synapse feeding it
    (:class:`SpikeCounts` from a fused :class:`Int8Synapse`) are expanded as they are.
    """

    def __init__(self, levels: int, gain: float, norm: float, integer: bool = False):
        super().__init__()
        self.levels, self.gain, self.norm, self.integer = levels, float(gain), float(norm), integer

    def forward(self, v) -> SpikeTrain:
        check_inference(self)
        if not self.integer:
            counts = ie_lif_counts(v, self.levels, self.gain)
            return SpikeTrain(counts_to_spike_train(counts, self.levels), 1.0 / self.norm)
        counts = _ie_lif_integer_counts(v, self.levels, self.gain)
        return SpikeTrain(counts_to_spike_bytes(counts, self.levels), 1.0 / self.norm)

    def spike_counts(self, output: SpikeTrain) -> torch.Tensor:
        return output.spikes.sum(0, dtype=torch.float32)

    def to_value(self, output: SpikeTrain) -> torch.Tensor:
        return output.to_dense()

    def extra_repr(self):
        return (f'levels={self.levels}, gain={self.gain:g}, norm={self.norm:g}, '
                f'integer={self.integer}')


class IELIFCounts(IELIFSpikes):
    """IE-LIF (Eq. 9) emitting its integer counts as :class:`SpikeCounts` (uint8 for
    ``levels <= 127``, the int8 kernels' range; else int32), worth ``1 / norm`` each."""

    def __init__(self, levels: int, gain: float, norm: float):
        super().__init__(levels, gain, norm, integer=True)

    def forward(self, v) -> SpikeCounts:
        check_inference(self)
        return SpikeCounts(_ie_lif_integer_counts(v, self.levels, self.gain), 1.0 / self.norm)

    def spike_counts(self, output: SpikeCounts) -> torch.Tensor:
        return output.values.float()


def _ie_lif_integer_counts(v, levels: int, gain: float) -> torch.Tensor:
    if isinstance(v, SpikeCounts):  # fired inside the synapse that feeds this neuron
        return v.values
    if levels > 127:  # beyond the int8 kernels: integer-valued counts
        return ie_lif_counts(v, levels, gain).to(torch.int32)
    u = v.detach() * gain if gain != 1.0 else v.detach()
    return counts_from_potential(u, levels)


class LIFSpikes(SpikingNeuron):
    """Binary LIF (Eq. 1-3) whose spikes are a one-step :class:`SpikeTrain` (uint8 if
    ``integer``)."""

    levels = 1

    def __init__(self, tau: float, threshold: float, surrogate_width: float, reset: str,
                 integer: bool = False):
        super().__init__()
        self.tau, self.threshold = tau, threshold
        self.surrogate_width, self.reset, self.integer = surrogate_width, reset, integer

    def _spikes(self, x) -> torch.Tensor:
        check_inference(self)
        spikes = lif_multistep(x, self.tau, self.threshold, self.surrogate_width, self.reset)
        return spikes.to(torch.uint8) if self.integer else spikes

    def forward(self, x) -> SpikeTrain:
        return SpikeTrain(self._spikes(x).unsqueeze(0), 1.0)

    spike_counts = IELIFSpikes.spike_counts
    to_value = IELIFSpikes.to_value

    def extra_repr(self):
        return f'tau={self.tau:g}, threshold={self.threshold:g}, reset={self.reset}'


class LIFCounts(LIFSpikes):
    """Binary LIF whose spikes are uint8 :class:`SpikeCounts` (0/1)."""

    def __init__(self, tau: float, threshold: float, surrogate_width: float, reset: str):
        super().__init__(tau, threshold, surrogate_width, reset, integer=True)

    def forward(self, x) -> SpikeCounts:
        return SpikeCounts(self._spikes(x), 1.0)

    spike_counts = IELIFCounts.spike_counts


# ---------------------------------------------------------------------------- synapses
_KINDS = ((QuantConv2d, 'conv2d', 3), (QuantConv1d, 'conv1d', 2), (QuantLinear, 'linear', 1))


class DeployedSynapse(nn.Module):
    """Base of the deployed conv / linear layers: geometry, ``weight_bits`` and
    ``bias`` (a float32 buffer).  ``kind`` is 'conv2d', 'conv1d' or 'linear'."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        kind = next((k[1:] for k in _KINDS if isinstance(layer, k[0])), None)
        if kind is None:
            raise TypeError(f'{type(layer).__name__} is not an mmqsd quantised conv / linear')
        self.kind, self.sample_dims = kind
        self.weight_bits = layer.weight_bits
        self.out_channels = layer.weight.shape[0]
        if self.kind != 'linear':
            self.stride, self.padding = tuple(layer.stride), tuple(layer.padding)
            self.dilation, self.groups = tuple(layer.dilation), layer.groups
        bias = layer.bias.detach().clone() if layer.bias is not None \
            else torch.zeros(self.out_channels, dtype=layer.weight.dtype,
                             device=layer.weight.device)
        self.register_buffer('bias', bias)

    def _op(self, x, weight, bias=None):
        if self.kind == 'linear':
            return F.linear(x, weight, bias)
        conv = F.conv2d if self.kind == 'conv2d' else F.conv1d
        return conv(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def pointwise(self) -> bool:
        """A 1x1 conv, stride 1, no padding, one group (a GEMM over positions)."""
        return self.kind != 'linear' and self.groups == 1 \
            and all(k == 1 for k in self.weight.shape[2:]) \
            and all(s == 1 for s in self.stride) and all(p == 0 for p in self.padding)

    def extra_repr(self):
        geometry = '' if self.kind == 'linear' else \
            f', stride={self.stride}, padding={self.padding}, groups={self.groups}'
        return f'{self.kind}, weight={tuple(self.weight.shape)}{geometry}, ' \
               f'weight_bits={self.weight_bits}'


class FloatSynapse(DeployedSynapse):
    """A conv / linear with the float weight ``w_hat`` (Eq. 4) as a buffer.

    The spike-driven reference form of a quantised layer, and the folded form of
    a full-precision one.  Accepts tensors, :class:`SpikeTrain` (every binary
    step runs through the op and the steps are summed) and :class:`SpikeCounts`.
    """

    def __init__(self, layer: nn.Module):
        super().__init__(layer)
        weight = layer.effective_weight() if isinstance(layer, LSQWeightMixin) else layer.weight
        self.register_buffer('weight', weight.detach().clone())

    @torch.no_grad()
    def fold_affine_(self, scale: torch.Tensor, shift: torch.Tensor) -> None:
        """Fold ``y -> scale * y + shift`` (per output channel) into weight and bias."""
        self.weight.mul_(scale.view(-1, *([1] * (self.weight.dim() - 1))))
        self.bias.copy_(self.bias * scale + shift)

    def effective_weight(self) -> torch.Tensor:
        return self.weight

    def forward(self, x):
        return synaptic_forward(x, lambda inp, bias: self._op(inp, self.weight, bias),
                                self.bias, self.sample_dims)


class Int8Synapse(DeployedSynapse):
    """A quantised conv / linear as buffers ``weight`` (int8 ``Q(w)``), ``scale`` (float32
    per output channel: LSQ step times folded norms, QSD Appendix D Eq. 24-26) and
    ``bias``: ``y = scale * sum(Q(w) x) + bias``.

    Inputs: uint8 :class:`SpikeCounts` (exact u8 x s8 -> int32 kernels,
    :mod:`mmqsd.ops.int8_kernels`), uint8 :class:`SpikeTrain` (each channel's
    ``D`` steps read as ``D`` adjacent channels, weights repeated: every MAC has a
    binary input and the int32 sum covers all steps, Eq. 10), or real values
    (float weights ``scale * Q(w)``; 1x1 convs on oneDNN on CPU).  After
    :meth:`fuse_neuron` (buffers ``neuron_levels``, ``neuron_gain``, ``neuron_norm``)
    the synapse emits the next IE-LIF's uint8 counts instead of ``y``.
    """

    def __init__(self, layer: nn.Module):
        super().__init__(layer)
        if not getattr(layer, 'quantized', False):
            raise ValueError(f'{type(layer).__name__} has full-precision weights '
                             '(weight_bits=None); use FloatSynapse')
        self.register_buffer('weight', layer.integer_weight().detach().clone())
        self.register_buffer('scale', layer.step_size.detach().clone())
        self._cache = {}

    @property
    def fused(self) -> bool:
        return hasattr(self, 'neuron_levels')

    @torch.no_grad()
    def fuse_neuron(self, levels: int, gain: float, norm: float) -> None:
        """Run the IE-LIF (``levels``, ``gain``, ``norm``) that reads this synapse alone
        in its epilogue (its parameters become buffers)."""
        device = self.scale.device
        self.register_buffer('neuron_levels', torch.tensor(int(levels), device=device))
        self.register_buffer('neuron_gain', torch.tensor(float(gain), device=device))
        self.register_buffer('neuron_norm', torch.tensor(float(norm), device=device))
        self._cache = {}

    @torch.no_grad()
    def fold_affine_(self, scale: torch.Tensor, shift: torch.Tensor) -> None:
        """Fold ``y -> scale * y + shift`` (per output channel): the integers stay."""
        self.bias.copy_(self.bias * scale.to(self.bias) + shift.to(self.bias))
        self.scale.mul_(scale.to(self.scale))
        self._cache = {}

    def effective_weight(self) -> torch.Tensor:
        """``scale * Q(w)`` in the scale's dtype."""
        shape = (-1, ) + (1, ) * (self.weight.dim() - 1)
        return self.weight.to(self.scale.dtype) * self.scale.view(shape)

    def integer_weight(self) -> torch.Tensor:
        return self.weight

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._cache = {}

    def __getstate__(self):
        state = dict(super().__getstate__())
        state['_cache'] = {}  # oneDNN weight packs cannot be copied
        return state

    def _cached(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def _neuron(self):
        if not self.fused:
            return None
        return int(self.neuron_levels), float(self.neuron_gain), float(self.neuron_norm)

    def forward(self, x):
        if isinstance(x, SpikeCounts) and x.values.dtype == torch.uint8:
            return self._int8_forward(x.values, x.scale)
        if isinstance(x, SpikeTrain) and x.spikes.dtype == torch.uint8:
            channel_dim = x.spikes.dim() - self.sample_dims
            steps_as_channels = x.spikes.movedim(0, channel_dim).flatten(channel_dim - 1,
                                                                         channel_dim)
            return self._int8_forward(steps_as_channels, x.scale, x.num_steps)
        return self._float_forward(x)

    # -- integer path
    def _epilogue(self, input_scale: float, device) -> Epilogue:
        """Scale and bias applied to the int32 sum, with a fused neuron's gain folded in."""
        def build():
            neuron = self._neuron()
            gain = neuron[1] if neuron else 1.0
            scale = (self.scale * (input_scale * gain)).to(device)
            bias = (self.bias * gain).to(device)
            return Epilogue(scale.contiguous(), bias, neuron[0] if neuron else None)
        return self._cached(('epilogue', input_scale, device), build)

    def _int8_forward(self, values: torch.Tensor, input_scale: float, steps: int = 1):
        epilogue = self._epilogue(input_scale, values.device)
        kernel = self._cached(('int8', values.device, steps), lambda: self._int8_kernel(steps))
        out = fold_batch(values, lambda v: self._int8_synapse(kernel, v, epilogue),
                         self.sample_dims)
        neuron = self._neuron()
        return out if neuron is None else SpikeCounts(out, 1.0 / neuron[2])

    def _int8_kernel(self, steps: int = 1):
        weight = self.weight
        repeated = weight.repeat_interleave(steps, dim=1) if steps > 1 else weight
        if self.kind == 'linear':
            return Int8Linear(repeated)
        if self.pointwise():
            return Int8Linear(repeated.flatten(1))
        if self.kind == 'conv1d':
            return Int8Conv2d(repeated.unsqueeze(2), (1, ) + self.stride, (0, ) + self.padding,
                              (1, ) + self.dilation, self.groups)
        if steps > 1 and self.groups == self.weight.shape[0] and self.weight.shape[1] == 1:
            return Int8DepthwiseSteps(weight, self.stride, self.padding, self.dilation, steps)
        return Int8Conv2d(repeated, self.stride, self.padding, self.dilation, self.groups)

    def _int8_synapse(self, kernel, values, epilogue):
        if isinstance(kernel, Int8Linear) and self.kind != 'linear':  # 1x1: rows of pixels
            return over_pixels(values, lambda rows: kernel(rows, epilogue))
        if self.kind == 'conv1d':
            return kernel(values.unsqueeze(2), epilogue).squeeze(2)
        return kernel(values, epilogue)

    # -- real-valued inputs
    def _float_synapse(self, x, weight, bias=None):
        if self.pointwise() and use_onednn_float(x):
            if self.kind == 'conv1d':
                return pointwise_conv(x.unsqueeze(2), weight.unsqueeze(2), bias).squeeze(2)
            return pointwise_conv(x, weight, bias)
        return self._op(x, weight, bias)

    def _float_forward(self, x):
        dtype = x.dtype if not isinstance(x, (SpikeTrain, SpikeCounts)) \
            or x.is_floating_point() else torch.get_default_dtype()
        weight = self._cached(('weight', self.weight.device, dtype),
                              lambda: self.effective_weight().to(dtype))
        bias = self._cached(('bias', self.weight.device, dtype), lambda: self.bias.to(dtype))
        out = synaptic_forward(x, lambda inp, b: self._float_synapse(inp, weight, b), bias,
                               self.sample_dims)
        neuron = self._neuron()
        if neuron is None:
            return out
        levels, gain, norm = neuron
        return SpikeCounts(counts_from_potential(out * gain, levels), 1.0 / norm)


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
    """1x1 conv of ``(N, C, H, W)`` on oneDNN (inference only).

    For single-threaded, batch < 16 1x1 convs PyTorch picks its BLAS fallback,
    which on the project's AMD CPU ran 3x slower than oneDNN in channels-last
    memory (docs/benchmarks.md).
    """
    return torch.ops.aten.mkldnn_convolution(x, weight, bias, [0, 0], [1, 1], [1, 1], 1)


# ------------------------------------------------------------------- spike-level ops
class SpikeProducts(nn.Module):
    """``scale * q (k^T v)`` per head on spike trains (Q-SDSA, QSD Eq. 6).

    With two trains ``k^T v`` sums all binary step pairs (float form) or gates
    the summed counts of ``v`` with binary ``k`` (integer form); ``q (k^T v)``
    gates the integer count ``k^T v`` with binary ``q``
    (:func:`~mmqsd.deploy.spike_train.spike_matmul`).
    """

    def __init__(self, num_heads: int, scale: float):
        super().__init__()
        self.num_heads, self.scale = num_heads, float(scale)

    def forward(self, q, k, v) -> torch.Tensor:
        height, width = q.shape[-2:]
        q, k, v = (map_values(t, lambda x: split_heads(x, self.num_heads)) for t in (q, k, v))
        kv = spike_matmul(map_values(k, lambda t: t.transpose(-1, -2)), v)
        return merge_heads(spike_matmul(q, kv) * self.scale, height, width)

    def extra_repr(self):
        return f'num_heads={self.num_heads}, scale={self.scale:g}'


class SpikeTrainSum(nn.Module):
    """A residual sum of spikes: the train holding both sets of steps (equal spike value),
    or the summed counts; consumers of the sum still see binary / integer inputs only."""

    def forward(self, a, b):
        if isinstance(a, SpikeTrain) and isinstance(b, SpikeTrain) and a.scale == b.scale:
            return SpikeTrain(torch.cat([a.spikes, b.spikes]), a.scale)
        if isinstance(a, SpikeCounts) and isinstance(b, SpikeCounts) and a.scale == b.scale:
            total = a.values.to(torch.int32) + b.values
            if a.values.dtype == torch.uint8 and int(total.max()) > 255:
                raise OverflowError('a residual spike count exceeds 255, the uint8 range of '
                                    'the integer form; use the spike-driven form')
            return SpikeCounts(total.to(a.values.dtype), a.scale)
        raise TypeError('a spike-driven residual adds two spike trains (or counts) of the same '
                        'spike value; build both branches with the same neuron config')


class SpikeTrainMaxPool2d(nn.Module):
    """3x3/2 max-pool of every virtual step of a spike train (Spikformer's SPS).

    Exact because a neuron emits a thermometer code, ``s[t] = [t < n]``
    (:func:`mmqsd.ops.counts_to_spike_train`; one step for binary LIF), so
    ``max_i s_i[t] = [t < max_i n_i]`` and the pooled steps sum to the pooled
    counts.  For other binary trains the sum of max-pools is not the max-pool
    of the sum, so a train whose steps are not non-increasing is rejected.
    """

    def forward(self, x):
        if isinstance(x, SpikeTrain) and bool((x.spikes[1:] > x.spikes[:-1]).any()):
            raise ValueError('SpikeTrainMaxPool2d needs a thermometer-coded spike train (s[t] '
                             '>= s[t+1]), as emitted by mmqsd neurons; pool before adding trains')
        if isinstance(x, SpikeCounts) and not x.is_floating_point():
            return x.map(lambda c: max_pool_3x3s2(c.float()).to(c.dtype))
        if isinstance(x, SpikeTrain) and not x.is_floating_point():
            return x.map(lambda s: max_pool_3x3s2(s.float()).to(s.dtype))
        return map_values(x, max_pool_3x3s2)


class DenseReadout(nn.Module):
    """The value a spike train / counts stand for, where a spike stream leaves a backbone."""

    def forward(self, x) -> torch.Tensor:
        return x.to_dense() if isinstance(x, (SpikeTrain, SpikeCounts)) else x


def synapse_of(layer: nn.Module) -> Optional[DeployedSynapse]:
    """The deployed synapse for a training layer: :class:`Int8Synapse` for LSQ weights,
    :class:`FloatSynapse` for full precision; a deployed synapse is returned as is."""
    if isinstance(layer, DeployedSynapse):
        return layer
    if not isinstance(layer, LSQWeightMixin):
        return None
    return Int8Synapse(layer) if layer.quantized else FloatSynapse(layer)
