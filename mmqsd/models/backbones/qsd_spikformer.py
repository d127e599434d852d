"""QSD applied to Spikformer (QSD paper Table 5, second architecture; Zhou et al., ICLR 2023).

Spikformer-8-384 for 224x224 ImageNet (16.82M parameters with the 1000-class
head, the paper's 16.81M):

* SPS tokenizer: four ``conv3x3 -> BN -> neuron -> max-pool 3x3/2`` stages
  (D/8, D/4, D/2, D channels; stride 16), then a relative position embedding
  ``rpe = neuron(BN(conv3x3(x)))`` added to its input: ``x = rpe + x``;
* 8 blocks ``x = x + SSA(x)``, ``x = x + MLP(x)`` with spiking self-attention
  ``SN(scale * q k^T v)`` (q/k/v = ``SN(BN(Linear(x)))``, scale 0.125,
  12 heads), projection ``SN(BN(Linear))`` and MLP
  ``SN(BN(Linear(SN(BN(Linear(x))))))`` with ratio 4.

The residual stream is a sum of spikes (SEW style), not the real-valued
membrane shortcut of SDT-v2.  QSD's changes are the same as for the
QSD-Transformer: LSQ weights (``weight_bits``), IE-LIF neurons and MPRF on
q/k/v (the binary-LIF, T=4, 4-bit baseline is ``neuron='lif', mprf=False``).
The classification head (:class:`QSDClsHead` with ``neuron=dict(type='identity')``)
reads the token mean as Spikformer does.

Spike-driven form (:func:`mmqsd.deploy.to_spike_driven`): every conv after the
first and every attention product consumes binary spike trains; the residual
sums (:class:`~mmqsd.layers.SpikeSum`) become trains holding both sets of steps
and the max-pools (:class:`~mmqsd.layers.SpikeMaxPool2d`) run on every virtual
step, which is exact for thermometer-coded trains.

Deliberate differences from Spikformer's code: "Linear" layers are 1x1 convs
on ``(T, B, C, H, W)`` maps (same weights and parameter count as its Conv1d on
flattened tokens), and the attention computes ``q (k^T v)``, equal to its
``(q k^T) v`` by associativity (see :func:`mmqsd.layers.multi_head_attention`).
"""
import copy
from typing import Union

from mmengine.model import BaseModule
from torch import nn

from ...layers import (ConvBNNeuron, QKVBranch, QuantConv2d, SpikeMaxPool2d, SpikeProductAttention,
                       SpikeReadout, SpikeSum, build_neuron, check_time_steps, neuron_config,
                       to_multistep)
from ...ops import check_weight_bits
from ...registry import MODELS
from .activation_checkpoint import checkpointed_call
from .arg_checks import check_arch_dict, check_flag

SPIKFORMER_ARCHS = {
    '8-384': dict(embed_dims=384, depth=8, num_heads=12, mlp_ratio=4),
    '8-512': dict(embed_dims=512, depth=8, num_heads=8, mlp_ratio=4),
    '8-768': dict(embed_dims=768, depth=8, num_heads=12, mlp_ratio=4),
}


def resolve_spikformer_arch(arch: Union[str, dict]) -> dict:
    """Return a validated arch dict from '8-384' / '8-512' / '8-768' or a custom dict."""
    if isinstance(arch, str):
        if arch not in SPIKFORMER_ARCHS:
            raise ValueError(f'unknown QSDSpikformer arch {arch!r}: use one of '
                             f'{sorted(SPIKFORMER_ARCHS)} or a dict with keys embed_dims, '
                             'depth, num_heads, mlp_ratio')
        return copy.deepcopy(SPIKFORMER_ARCHS[arch])
    arch = check_arch_dict(arch, 'QSDSpikformer', ('embed_dims', 'depth', 'num_heads'),
                           dict(mlp_ratio=4),
                           'dict(embed_dims=384, depth=8, num_heads=12, mlp_ratio=4)')
    dim = arch['embed_dims']
    if dim <= 0 or dim % 8 or dim % arch['num_heads']:
        raise ValueError(f'embed_dims={dim} must be divisible by 8 (the tokenizer starts at '
                         f"D/8) and by num_heads={arch['num_heads']}")
    return arch


def conv_bn_neuron(in_channels, out_channels, kernel_size, neuron_cfg, weight_bits, bias=False):
    """Spikformer's unit ``SN(BN(conv(x)))`` with an LSQ-quantised conv."""
    conv = QuantConv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                       bias=bias, weight_bits=weight_bits)
    return ConvBNNeuron(conv, out_channels, neuron_cfg)


class SpikformerTokenizer(nn.Module):
    """Spiking patch splitting (SPS) of ImageNet Spikformer: stride 16, then ``x + RPE(x)``."""

    def __init__(self, in_channels, dim, neuron_cfg, weight_bits):
        super().__init__()
        widths = [in_channels, dim // 8, dim // 4, dim // 2, dim]
        self.stages = nn.Sequential(*(
            nn.Sequential(conv_bn_neuron(c_in, c_out, 3, neuron_cfg, weight_bits),
                          SpikeMaxPool2d()) for c_in, c_out in zip(widths[:-1], widths[1:])))
        self.rpe = conv_bn_neuron(dim, dim, 3, neuron_cfg, weight_bits)
        self.residual = SpikeSum()

    def forward(self, x):
        x = self.stages(x)
        return self.residual(self.rpe(x), x)


class SpikingSelfAttention(SpikeProductAttention):
    """Spikformer's SSA with QSD's changes: ``SN(BN(Linear(SN(scale * q k^T v))))``.

    q/k/v are :class:`QKVBranch` with a 1x1 conv (``SN(MPRF(BN(Linear(x))))``), so
    the FGD recorders treat them like the Q-SDSA's.  ``attention='softmax'``
    with real-valued neurons gives the ANN counterpart (FGD teacher).
    """

    def __init__(self, dim, num_heads, neuron_cfg, weight_bits, mprf=True, attn_neuron_cfg=None,
                 scale=0.125, attention='spike'):
        super().__init__()
        self._setup_products(dim, num_heads, scale, attention)
        for name in ('q', 'k', 'v'):
            linear = QuantConv2d(dim, dim, 1, bias=False, weight_bits=weight_bits)
            setattr(self, name, QKVBranch(dim, neuron_cfg, weight_bits, mprf, conv=linear))
        self.attn_neuron = build_neuron(attn_neuron_cfg or neuron_cfg)
        self.proj = conv_bn_neuron(dim, dim, 1, neuron_cfg, weight_bits, bias=True)

    def forward(self, x):
        return self.proj(self.attn_neuron(self.qkv_products(x)))


class SpikformerBlock(nn.Module):
    """``x = x + SSA(x)``, then ``x = x + MLP(x)`` (sums of spikes)."""

    def __init__(self, dim, num_heads, neuron_cfg, weight_bits, mlp_ratio=4, mprf=True,
                 attn_neuron_cfg=None, attn_scale=0.125, attention='spike'):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.attn = SpikingSelfAttention(dim, num_heads, neuron_cfg, weight_bits, mprf,
                                         attn_neuron_cfg, attn_scale, attention)
        self.mlp = nn.Sequential(
            conv_bn_neuron(dim, hidden, 1, neuron_cfg, weight_bits, bias=True),
            conv_bn_neuron(hidden, dim, 1, neuron_cfg, weight_bits, bias=True))
        self.residual = SpikeSum()

    def forward(self, x):
        x = self.residual(x, self.attn(x))
        return self.residual(x, self.mlp(x))


@MODELS.register_module()
class QSDSpikformer(BaseModule):
    """Spikformer backbone with QSD's quantisation, IE-LIF and MPRF (Table 5).

    Args:
        arch: '8-384' (the paper's ablation model), '8-512', '8-768' or a dict with
            ``embed_dims``, ``depth``, ``num_heads``, ``mlp_ratio``.
        in_channels: input channels.
        weight_bits: LSQ weight bits (2..8) or None for full precision.
        neuron: 'ie_lif', 'lif' or a neuron config dict (``dict(type='relu')`` for
            the ANN counterpart).
        levels: IE-LIF's b.
        time_steps: T (4 for the binary-LIF baseline).
        mprf: MPRF on q/k/v (Eq. 12).
        neuron_cfg: extra neuron kwargs.
        attn_neuron_cfg: overrides for the attention-output neuron (Spikformer's
            LIF there has threshold 0.5: ``dict(threshold=0.5)``).
        attn_scale: Spikformer's 0.125; None: 1/sqrt(d).
        attention: 'spike' or 'softmax' (ANN counterpart).
        with_cp: activation checkpointing of the tokenizer and of each block in
            training (see :class:`QSDTransformer`); ``TypeError`` unless a bool.

    Returns a 1-tuple with the ``(T, B, D, H/16, W/16)`` token map (the spike
    counts of the residual stream).
    """

    def __init__(self, arch: Union[str, dict] = '8-384', in_channels: int = 3, weight_bits=4,
                 neuron: Union[str, dict] = 'ie_lif', levels: int = 4, time_steps: int = 1,
                 mprf: bool = True, neuron_cfg: dict = None, attn_neuron_cfg: dict = None,
                 attn_scale: float = 0.125, attention: str = 'spike', with_cp: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.arch = resolve_spikformer_arch(arch)
        check_weight_bits(weight_bits)
        self.time_steps = check_time_steps(time_steps)
        self.with_cp = check_flag(with_cp, 'with_cp')
        self.embed_dims = dim = self.arch['embed_dims']
        ncfg = neuron_config(neuron, levels, **(neuron_cfg or {}))
        acfg = dict(ncfg, **(attn_neuron_cfg or {}))
        self.tokenizer = SpikformerTokenizer(in_channels, dim, ncfg, weight_bits)
        self.blocks = nn.ModuleList(
            SpikformerBlock(dim, self.arch['num_heads'], ncfg, weight_bits, self.arch['mlp_ratio'],
                            mprf, acfg, attn_scale, attention) for _ in range(self.arch['depth']))
        self.readout = SpikeReadout()

    def forward(self, x):
        x = checkpointed_call(self.tokenizer, to_multistep(x, self.time_steps), self.with_cp)
        for block in self.blocks:
            x = checkpointed_call(block, x, self.with_cp)
        return (self.readout(x), )
