"""Building blocks of the QSD-Transformer / Meta-SpikeFormer (SDT-v2) skeleton.

Tensors are multi-step ``(T, B, C, H, W)``; the residual stream is real-valued
("membrane shortcut") and every conv / linear consumes spikes, except the stem
conv (real image) and the depthwise convs inside SepConv / RepConv, whose
inputs are BN outputs (as in the authors' released QSD / SDT-v2 code).  These are
the training forms; :mod:`mmqsd.deploy` substitutes the inference forms of their
neurons, synapses and attention products by name.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .attention import SpikeProductAttention
from .neurons import build_neuron
from .norm import MPRF, SeqBatchNorm1d, SeqBatchNorm2d
from .quant import QuantConv1d, QuantConv2d


class Downsample(nn.Module):
    """[neuron] -> quantised conv (with bias) -> BN.  The stem has no neuron."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, neuron_cfg,
                 weight_bits, first_layer=False):
        super().__init__()
        self.neuron = None if first_layer else build_neuron(neuron_cfg)
        self.conv = QuantConv2d(in_channels, out_channels, kernel_size, stride, padding,
                                weight_bits=weight_bits)
        self.bn = SeqBatchNorm2d(out_channels)

    def forward(self, x):
        if self.neuron is not None:
            x = self.neuron(x)
        return self.bn(self.conv(x))

    def fusion_chains(self):
        return [('conv', ['bn'])]


class SepConv(nn.Module):
    """Inverted separable conv: BN(PW2(DW7x7(SN(BN(PW1(SN(x))))))), expansion 2."""

    def __init__(self, dim, neuron_cfg, weight_bits, expansion=2, kernel_size=7):
        super().__init__()
        hidden = dim * expansion
        self.neuron1 = build_neuron(neuron_cfg)
        self.pwconv1 = QuantConv2d(dim, hidden, 1, bias=False, weight_bits=weight_bits)
        self.bn1 = SeqBatchNorm2d(hidden)
        self.neuron2 = build_neuron(neuron_cfg)
        self.dwconv = QuantConv2d(hidden, hidden, kernel_size, padding=kernel_size // 2,
                                  groups=hidden, bias=False, weight_bits=weight_bits)
        self.pwconv2 = QuantConv2d(hidden, dim, 1, bias=False, weight_bits=weight_bits)
        self.bn2 = SeqBatchNorm2d(dim)

    def forward(self, x):
        x = self.bn1(self.pwconv1(self.neuron1(x)))
        x = self.dwconv(self.neuron2(x))
        return self.bn2(self.pwconv2(x))

    def fusion_chains(self):
        return [('pwconv1', ['bn1']), ('pwconv2', ['bn2'])]

    def neuron_fusion(self):
        return [('pwconv1', 'neuron2')]


class ConvBlock(nn.Module):
    """Conv-based SNN block: x + SepConv(x), then x + BN(Conv3x3(SN(BN(Conv3x3(SN(x))))))."""

    def __init__(self, dim, neuron_cfg, weight_bits, mlp_ratio=4):
        super().__init__()
        hidden = dim * mlp_ratio
        self.sepconv = SepConv(dim, neuron_cfg, weight_bits)
        self.neuron1 = build_neuron(neuron_cfg)
        self.conv1 = QuantConv2d(dim, hidden, 3, padding=1, bias=False, weight_bits=weight_bits)
        self.bn1 = SeqBatchNorm2d(hidden)
        self.neuron2 = build_neuron(neuron_cfg)
        self.conv2 = QuantConv2d(hidden, dim, 3, padding=1, bias=False, weight_bits=weight_bits)
        self.bn2 = SeqBatchNorm2d(dim)

    def forward(self, x):
        x = x + self.sepconv(x)
        y = self.bn1(self.conv1(self.neuron1(x)))
        return x + self.bn2(self.conv2(self.neuron2(y)))

    def fusion_chains(self):
        return [('conv1', ['bn1']), ('conv2', ['bn2'])]

    def neuron_fusion(self):
        return [('conv1', 'neuron2')]


class BNAndPad(SeqBatchNorm2d):
    """BN, then a 1-pixel border filled with BN(0) from the running statistics.

    Padding with BN(0) equals zero-padding the un-normalised input, which lets
    RepConv collapse into one dense 3x3 conv at inference.
    """

    def forward(self, x):
        out = super().forward(x)
        scale = self.weight * torch.rsqrt(self.running_var + self.eps)
        pad_value = (self.bias - self.running_mean * scale).view(-1, 1, 1)
        return _pad_hw(out - pad_value) + pad_value


def _pad_hw(x):
    return F.pad(x, (1, 1, 1, 1))


class RepConv(nn.Module):
    """Re-parameterisable 3x3: BN(PW(DW3x3_valid(BNAndPad(PW(x))))).  Only the
    first 1x1 conv sees the spike input."""

    def __init__(self, in_channels, out_channels, weight_bits):
        super().__init__()
        self.pw_in = QuantConv2d(in_channels, in_channels, 1, bias=False, weight_bits=weight_bits)
        self.bn_pad = BNAndPad(in_channels)
        self.dw = QuantConv2d(in_channels, in_channels, 3, groups=in_channels, bias=False,
                              weight_bits=weight_bits)
        self.pw_out = QuantConv2d(in_channels, out_channels, 1, bias=False,
                                  weight_bits=weight_bits)
        self.bn_out = SeqBatchNorm2d(out_channels)

    def forward(self, x):
        return self.bn_out(self.pw_out(self.dw(self.bn_pad(self.pw_in(x)))))

    def fusion_chains(self):
        return [('pw_out', ['bn_out'])]


class ConvBNNeuron(nn.Module):
    """``conv -> BN -> [MPRF, Eq. 12] -> neuron``: a synapse and the neuron it charges.

    ``conv`` maps ``(..., C_in, H, W)`` tensors or spike trains to ``out_channels``
    maps (a quantised conv or a :class:`RepConv`).
    """

    def __init__(self, conv: nn.Module, out_channels: int, neuron_cfg: dict, mprf: bool = False):
        super().__init__()
        self.conv = conv
        self.bn = SeqBatchNorm2d(out_channels)
        self.neuron = build_neuron(neuron_cfg)
        if mprf and not hasattr(self.neuron, 'firing_range'):
            raise ValueError(f"mprf=True rectifies membrane potentials into a spiking neuron's "
                             f"firing range, but neuron {neuron_cfg['type']!r} has none; "
                             'set mprf=False for real-valued activations')
        self.mprf = MPRF(out_channels, firing_range_top=self.neuron.firing_range[1]) \
            if mprf else None

    def membrane(self, x):
        """The membrane potential fed to the neuron (after MPRF when enabled)."""
        v = self.bn(self.conv(x))
        return self.mprf(v) if self.mprf is not None else v

    def forward(self, x):
        return self.neuron(self.membrane(x))

    def fusion_chains(self):
        """BN and MPRF fold into the conv (Eq. 26); for a RepConv into its last
        quantised conv, after RepConv's own BN_out."""
        if isinstance(self.conv, RepConv):
            return [('conv.pw_out', ['conv.bn_out', 'bn', 'mprf'])]
        return [('conv', ['bn', 'mprf'])]

    def neuron_fusion(self):
        """After :meth:`fusion_chains`, a spike-fed quantised conv feeds the neuron alone.

        (A RepConv's last conv reads real values, so nothing gains from fusing it.)
        """
        return [] if isinstance(self.conv, RepConv) else [('conv', 'neuron')]


class QKVBranch(ConvBNNeuron):
    """One of q / k / v: RepConv -> BN -> [MPRF, Eq. 12] -> IE-LIF (membrane -> spikes).

    ``conv`` replaces the RepConv (Spikformer's q/k/v use a 1x1 conv).
    """

    def __init__(self, dim, neuron_cfg, weight_bits, mprf, conv: Optional[nn.Module] = None):
        super().__init__(RepConv(dim, dim, weight_bits) if conv is None else conv, dim,
                         neuron_cfg, mprf)


class QSDSA(SpikeProductAttention):
    """Quantised spike-driven self-attention (Q-SDSA, QSD Eq. 6 with MPRF, Eq. 12).

    ``SN(scale * q_s (k_s^T v_s))`` per head (linear attention, O(N d^2)), then a
    RepConv projection.  ``scale`` is 0.25 as in the authors' QSD code (None:
    ``1/sqrt(d)``).  With ``attention='softmax'`` and real-valued neurons this is
    the MHSA of the ANN counterpart (FGD teacher, Fig. 1c), with the same q/k/v
    shapes (see :func:`multi_head_attention`).
    """

    def __init__(self, dim, num_heads, neuron_cfg, weight_bits, mprf=True,
                 attn_neuron_cfg: Optional[dict] = None, scale: Optional[float] = 0.25,
                 attention: str = 'spike'):
        super().__init__()
        self._setup_products(dim, num_heads, scale, attention)
        self.head_neuron = build_neuron(neuron_cfg)
        self.q = QKVBranch(dim, neuron_cfg, weight_bits, mprf)
        self.k = QKVBranch(dim, neuron_cfg, weight_bits, mprf)
        self.v = QKVBranch(dim, neuron_cfg, weight_bits, mprf)
        self.attn_neuron = build_neuron(attn_neuron_cfg or neuron_cfg)
        self.proj = RepConv(dim, dim, weight_bits)
        self.proj_bn = SeqBatchNorm2d(dim)

    def attention(self, x):
        """Spikes q, k, v and the attention output before the attention neuron."""
        return self.qkv_products(self.head_neuron(x))

    def forward(self, x):
        return self.proj_bn(self.proj(self.attn_neuron(self.attention(x))))

    def fusion_chains(self):
        return [('proj.pw_out', ['proj.bn_out', 'proj_bn'])]


class MLP(nn.Module):
    """Channel MLP on tokens: BN(FC2(SN(BN(FC1(SN(x)))))) with 1x1 Conv1d FCs (bias)."""

    def __init__(self, dim, neuron_cfg, weight_bits, mlp_ratio=4):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.fc1_neuron = build_neuron(neuron_cfg)
        self.fc1 = QuantConv1d(dim, hidden, 1, weight_bits=weight_bits)
        self.fc1_bn = SeqBatchNorm1d(hidden)
        self.fc2_neuron = build_neuron(neuron_cfg)
        self.fc2 = QuantConv1d(hidden, dim, 1, weight_bits=weight_bits)
        self.fc2_bn = SeqBatchNorm1d(dim)

    def forward(self, x):
        height, width = x.shape[-2:]
        y = self.fc1_bn(self.fc1(self.fc1_neuron(x.flatten(-2))))
        y = self.fc2_bn(self.fc2(self.fc2_neuron(y)))
        return y.unflatten(-1, (height, width))

    def fusion_chains(self):
        return [('fc1', ['fc1_bn']), ('fc2', ['fc2_bn'])]

    def neuron_fusion(self):
        return [('fc1', 'fc2_neuron')]


class DropPath(nn.Module):
    """Stochastic depth on the batch axis of ``(T, B, ...)`` tensors."""

    def __init__(self, drop_prob=0.):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if self.drop_prob == 0. or not self.training:
            return x
        keep = 1 - self.drop_prob
        mask = x.new_empty((1, x.shape[1]) + (1, ) * (x.dim() - 2)).bernoulli_(keep)
        return x * mask / keep


class TransformerBlock(nn.Module):
    """Transformer-based SNN block: x + g1*QSDSA(x), then x + g2*MLP(x) (layer scales g)."""

    def __init__(self, dim, num_heads, neuron_cfg, weight_bits, mlp_ratio=4, mprf=True,
                 attn_neuron_cfg=None, attn_scale=0.25, layer_scale_init=1e-6,
                 drop_path=0., attention='spike'):
        super().__init__()
        self.attn = QSDSA(dim, num_heads, neuron_cfg, weight_bits, mprf, attn_neuron_cfg,
                          attn_scale, attention)
        self.mlp = MLP(dim, neuron_cfg, weight_bits, mlp_ratio)
        self.layer_scale1 = nn.Parameter(torch.full((dim, ), float(layer_scale_init)))
        self.layer_scale2 = nn.Parameter(torch.full((dim, ), float(layer_scale_init)))
        self.drop_path = DropPath(drop_path)

    def forward(self, x):
        x = x + self.drop_path(_layer_scaled(self.layer_scale1, self.attn(x)))
        return x + self.drop_path(_layer_scaled(self.layer_scale2, self.mlp(x)))


def _layer_scaled(scale: Optional[torch.Tensor], y):
    return y if scale is None else scale.view(-1, 1, 1) * y
