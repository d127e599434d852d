"""CSDformer QANN -> fully spike-driven SNN (Sec. 3.3, Appendices A-C).

:func:`convert_csdformer` turns a trained quantised :class:`~mmqsd.models.backbones.CSDformer`
(or an mmpretrain classifier built on it) into a time-stepped network of
stateful delayed IF neurons, TDEC max-pools and TDEC matrix products:

1. Fold every BN into its conv (:func:`~mmqsd.deploy.fuse_norms`, ref. [15]);
   the folded bias is injected at every step.
2. Map each quantiser (level ``L``, step ``s``, clipping threshold
   ``lambda = L s``) to a neuron with time window ``T = L`` and firing threshold
   ``theta = lambda``, initial potential ``theta / 2`` (Sec. 3.3.1).  A spike of
   that neuron stands for the value ``theta`` at its step (``a = theta/T * sum_t s(t)``);
   this value is absorbed into the weights of the next conv, which therefore
   only sees binary spikes.
3. Absorb the constant scalings into thresholds (Sec. 3.3.1, CSDformer Eq. 11,
   Appendix B.2, Eq. 22-23).  The attention neurons integrate the
   raw integer TDEC currents ``Gamma(t)``:

   * after ``Q K^T`` (scale ``1/sqrt(d_k)``):
     ``theta~_A = lambda_A T sqrt(d_k) / (lambda_Q lambda_K)``,
   * after ``A V`` (NReLU's ``1/N``): ``theta~_O = lambda_O N T / (lambda_A lambda_V)``,
     with the token count ``N`` of the input, applied per run.

4. Replace max-pools and both attention products by TDEC units (Sec. 3.3.2).
5. Use delayed IF neurons (Algorithm 1) with delay ``D`` (default ``T - 1``,
   which makes the SNN equal to the QANN; CSDformer Appendix C, Table 4).

Execution is layer by layer: every unit consumes the ``T`` frames of its
input and emits ``T`` frames, a neuron layer taking ``T + D`` steps (the
paper's accounting, :attr:`SpikingCSDformer.total_time_steps`).  Stateless
synapses (1x1/3x3 convs on binary frames) run on all frames at once.
Spike-driven everywhere except the two ends that every SNN has: the first
conv (the *encoding layer*: the analog image, computed once and injected as a
constant current every step, as in Spikingformer) and the classifier read-out
(GAP + linear on the real-valued residual stream, as in Spikingformer; the
paper does not say whether CSDformer adds a neuron there, CSDformer Sec. 3.1).
"""
import copy
from typing import Optional, Sequence, Tuple

import torch
from torch import nn

from ..layers import (ConvBN, DelayedIFNeuron, LSQActQuant, TailoredAttention, TailoredBlock,
                      TDECMatMul, TDECMaxPool2d, merge_token_heads, split_token_heads)
from ..models.backbones.csdformer import NUM_TOKENIZER_STAGES, CSDformer, run_stages
from .fusion import fuse_norms
from .spike_driven import SpikeValueRecorder

SPIKING_UNITS = (DelayedIFNeuron, TDECMaxPool2d)


def check_convertible(backbone: nn.Module) -> int:
    """Raise a ValueError naming the fix unless ``backbone`` is a trained quantised CSDformer.

    Returns the common quantisation level ``L`` (= the SNN time window ``T``).
    """
    if not isinstance(backbone, CSDformer):
        raise TypeError(f'convert_csdformer needs an mmqsd CSDformer (or a classifier with one '
                        f'as its backbone), got {type(backbone).__name__}')
    if not backbone.quantized:
        raise ValueError('this CSDformer was built with quantized=False (ReLU activations): only '
                         'the quantised transformer (LSQ activation quantisers, Sec. 3.2) '
                         'converts to an SNN.  Train it with model.backbone.quantized=True and '
                         'convert that checkpoint.')
    quantizers = [(n, m) for n, m in backbone.named_modules() if isinstance(m, LSQActQuant)]
    fresh = [n for n, m in quantizers if not bool(m.initialized)]
    if fresh:
        raise ValueError(f'{len(fresh)} activation quantisers (e.g. {fresh[0]}) were never '
                         'initialised: the model has not been trained or run on data.  Load a '
                         'trained checkpoint, or run one forward pass on real inputs first.')
    levels = {m.levels for _, m in quantizers}
    if len(levels) != 1:
        raise ValueError(f'all quantisers must share one level L (= time window T), got {levels}')
    return levels.pop()


def _absorb_input_value(proj: ConvBN, value: torch.Tensor) -> ConvBN:
    """Fold the value carried by one input spike into a (BN-folded) conv's weights."""
    with torch.no_grad():
        proj.conv.weight.mul_(value)
    return proj


class SpikingProjection(nn.Module):
    """``act -> [max-pool] -> conv`` of the QANN as ``DIF -> [TDEC max-pool] -> conv`` on spikes."""

    def __init__(self, act: LSQActQuant, proj: ConvBN, delay: int, pool: bool = False):
        super().__init__()
        self.neuron = DelayedIFNeuron(act.threshold, delay)
        self.pool = TDECMaxPool2d() if pool else None
        self.proj = _absorb_input_value(proj, act.threshold)

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        spikes = self.neuron(currents)
        if self.pool is not None:
            spikes = self.pool(spikes)
        return self.proj(spikes)


class SpikingAttention(nn.Module):
    """Spike-driven TMSA: DIF neurons, TDEC ``Q K^T`` and ``A V``, scalings in thresholds."""

    def __init__(self, attn: TailoredAttention, delay: int, time_steps: int):
        super().__init__()
        lam = {name: getattr(attn, name).threshold for name in TailoredAttention.ACTS}
        self.num_heads = attn.num_heads
        self.pre_neuron = DelayedIFNeuron(lam['pre_act'], delay)
        self.q, self.k, self.v = (_absorb_input_value(p, lam['pre_act'])
                                  for p in (attn.q, attn.k, attn.v))
        self.q_neuron = DelayedIFNeuron(lam['q_act'], delay)
        self.k_neuron = DelayedIFNeuron(lam['k_act'], delay)
        self.v_neuron = DelayedIFNeuron(lam['v_act'], delay)
        self.qk = TDECMatMul()
        self.attn_neuron = DelayedIFNeuron(
            lam['attn_act'] * time_steps / (attn.scale * lam['q_act'] * lam['k_act']), delay)
        self.av = TDECMatMul()
        # times the token count N at run time (NReLU's 1/N)
        self.out_neuron = DelayedIFNeuron(
            lam['out_act'] * time_steps / (lam['attn_act'] * lam['v_act']), delay)
        self.proj = _absorb_input_value(attn.proj, lam['out_act'])

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        """``(T, B, C, N)`` residual currents -> ``(T, B, C, N)`` output currents."""
        tokens = currents.shape[-1]
        spikes = self.pre_neuron(currents)
        q, k, v = (split_token_heads(neuron(proj(spikes)), self.num_heads)
                   for proj, neuron in ((self.q, self.q_neuron), (self.k, self.k_neuron),
                                        (self.v, self.v_neuron)))
        attn = self.attn_neuron(self.qk(q, k.transpose(-1, -2)))
        out = self.out_neuron(merge_token_heads(self.av(attn, v)), threshold_scale=tokens)
        return self.proj(out)


class SpikingBlock(nn.Module):
    """A tailored block on per-step residual currents (Eqs. 2-3, membrane shortcut)."""

    def __init__(self, block: TailoredBlock, delay: int, time_steps: int):
        super().__init__()
        self.attn = SpikingAttention(block.attn, delay, time_steps)
        mlp = block.mlp
        self.mlp = nn.Sequential(SpikingProjection(mlp.act1, mlp.fc1, delay),
                                 SpikingProjection(mlp.act2, mlp.fc2, delay))

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        currents = currents + self.attn(currents)
        return currents + self.mlp(currents)


class SpikingCSDformer(nn.Module):
    """The converted backbone; returns per-step currents ``(T, B, C, H, W)`` for ``out_indices``.

    The time average of an output equals the QANN's output for ``D >= T - 1``.
    """

    def __init__(self, backbone: CSDformer, delay: Optional[int] = None,
                 out_indices: Optional[Sequence[int]] = None):
        super().__init__()
        self.time_steps = check_convertible(backbone)
        fused = fuse_norms(backbone)  # a copy in eval mode
        tokenizer = fused.tokenizer
        self.encoder = tokenizer[0].proj
        self.tokenizer = nn.ModuleList(
            SpikingProjection(s.act, s.proj, 0, pool=s.pool) for s in tokenizer[1:])
        self.blocks = nn.ModuleList(SpikingBlock(b, 0, self.time_steps) for b in fused.blocks)
        num_stages = NUM_TOKENIZER_STAGES + len(self.blocks)
        self.out_indices = tuple(i % num_stages for i in (
            backbone.out_indices if out_indices is None else out_indices))
        self.delay = self.time_steps - 1 if delay is None else delay

    @property
    def delay(self) -> int:
        return self._delay

    @delay.setter
    def delay(self, value: int) -> None:
        for module in self.modules():
            if isinstance(module, DelayedIFNeuron):
                module.delay = value  # validates
        self._delay = value

    @property
    def total_time_steps(self) -> int:
        """Steps each neuron layer runs, ``T + D`` (the paper's "time-steps")."""
        return self.time_steps + self.delay

    @property
    def num_neuron_layers(self) -> int:
        """Neuron layers on the longest path: 4 in the tokenizer, 6 per block."""
        return len(self.tokenizer) + 6 * len(self.blocks)

    @property
    def pipelined_time_steps(self) -> int:
        """End-to-end latency ``T + n D`` if the layers were pipelined without re-indexing."""
        return self.time_steps + self.num_neuron_layers * self.delay

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Encoding layer: conv + BN of the analog image, the same current at all ``T`` steps."""
        current = self.encoder(images)
        return current.unsqueeze(0).expand(self.time_steps, *current.shape)

    def forward_encoded(self, currents: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Run the spike-driven part on the encoding layer's ``(T, B, C, H, W)`` currents."""
        outs = (currents, ) if 0 in self.out_indices else ()
        return outs + run_stages(self.tokenizer, self.blocks, currents, self.out_indices, 1)

    def forward(self, images: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return self.forward_encoded(self.encode(images))


def _check_classifier(model: nn.Module) -> None:
    from mmpretrain.models.heads import LinearClsHead
    from mmpretrain.models.necks import GlobalAveragePooling
    backbone = getattr(model, 'backbone', None)
    if not isinstance(backbone, CSDformer):
        raise TypeError(f'expected a CSDformer backbone or a classifier with one, got '
                        f'{type(model).__name__} with backbone {type(backbone).__name__}')
    if not isinstance(getattr(model, 'neck', None), GlobalAveragePooling) \
            or not isinstance(getattr(model, 'head', None), LinearClsHead):
        raise ValueError('the SNN read-out supports the CSDformer classifier layout: neck '
                         "dict(type='GlobalAveragePooling') and head dict(type='LinearClsHead'), "
                         f'got neck {type(model.neck).__name__}, head {type(model.head).__name__}')


class SpikingCSDformerClassifier(nn.Module):
    """Converted image classifier: per-step logits of the residual stream, averaged over ``T``."""

    def __init__(self, classifier: nn.Module, delay: Optional[int] = None):
        super().__init__()
        _check_classifier(classifier)
        self.backbone = SpikingCSDformer(classifier.backbone, delay, out_indices=(-1, ))
        self.fc = copy.deepcopy(classifier.head.fc).eval()

    @property
    def delay(self) -> int:
        return self.backbone.delay

    @delay.setter
    def delay(self, value: int) -> None:
        self.backbone.delay = value

    def readout(self, currents: torch.Tensor) -> torch.Tensor:
        """GAP + linear head per step on ``(T, B, C, H, W)`` currents, mean over ``T``."""
        return self.fc(currents.flatten(-2).mean(-1)).mean(0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.readout(self.backbone(images)[-1])


def convert_csdformer(model: nn.Module, delay: Optional[int] = None) -> nn.Module:
    """Convert a quantised CSDformer backbone or classifier to its SNN (delay D, default T-1)."""
    if isinstance(model, CSDformer):
        return SpikingCSDformer(model, delay).eval()
    return SpikingCSDformerClassifier(model, delay).eval()


class SpikeRecorder(SpikeValueRecorder):
    """Collects the distinct values emitted by every DIF neuron and TDEC max-pool of an SNN."""

    def __enter__(self):
        self.handles = [m.register_forward_hook(self._hook) for m in self.model.modules()
                        if isinstance(m, SPIKING_UNITS)]
        return self
