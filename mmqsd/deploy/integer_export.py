"""Export a QSD classifier as integers and run it spike-driven from the files alone.

Scope: the QSD-Transformer image classifier (``QSDTransformer`` + ``QSDClsHead``
with IE-LIF neurons and quantised weights); other models raise.

Export (:func:`export_integer`): BN and MPRF are folded into the quantised
convs (QSD Appendix D, Eq. 24-26, :func:`~mmqsd.deploy.fuse_norms`), RepConv's
padding BN into its first 1x1 conv (the border value BN(0) is kept), and every
conv / linear is written as int8 ``Q(w)`` + float32 per-channel ``scale`` +
float32 ``bias`` (``y = scale * sum(Q(w) x) + bias``) into ``NAME.npz``;
``NAME.json`` lists the operations in execution order (types, shapes, strides,
IE-LIF ``levels``/``gain``/``norm``, and the npz keys they use).

Reference runner (:func:`run_exported`): numpy-free torch code that reads
only those two files.  Each IE-LIF emits its count ``n`` as ``levels`` binary
spikes (Eq. 10); a synapse fed by spikes accumulates its integer weights once
per spike (int64), then applies ``scale * spike_scale`` and the bias.  Inputs
that are not spikes (the image, the real-valued outputs of the depthwise and
RepConv inner convs) are computed in float64 with the integer weights.
"""
import json
import os
from dataclasses import dataclass
from typing import Dict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..layers import (IELIF, MLP, QSDSA, ConvBlock, Downsample, LSQWeightMixin, RepConv, SepConv,
                      TransformerBlock, affine_of_bn)
from .forms import replace_modules
from .fusion import fold_norms_into_conv, fuse_norms
from .modules import Int8Synapse, synapse_of

FORMAT = 'mmqsd-integer-v1'


class _Exporter:
    """Walks a fused model in execution order, emitting ops and arrays."""

    def __init__(self):
        self.layers, self.arrays, self.count = [], {}, 0

    def emit(self, kind: str, inputs, name: str = '', **attrs) -> str:
        self.count += 1
        out = f't{self.count}'
        self.layers.append(dict(type=kind, name=name, inputs=list(inputs), output=out, **attrs))
        return out

    def array(self, key: str, value: torch.Tensor, dtype) -> str:
        self.arrays[key] = value.detach().cpu().numpy().astype(dtype)
        return key

    def synapse(self, name: str, layer: nn.Module, x: str) -> str:
        if not isinstance(layer, Int8Synapse):
            raise ValueError(f'{name} is not a quantised layer (weight_bits=None?); integer '
                             'export needs a model with quantised weights')
        weight = layer.weight
        refs = dict(weight=self.array(name + '.weight', weight, np.int8),
                    scale=self.array(name + '.scale', layer.scale, np.float32),
                    bias=self.array(name + '.bias', layer.bias, np.float32),
                    bits=layer.weight_bits, weight_shape=list(weight.shape))
        if layer.kind == 'linear':
            return self.emit('linear', [x], name, **refs)
        if layer.kind == 'conv1d':  # the MLP's 1x1 Conv1d == a 1x1 conv on the map
            if weight.shape[2:] != (1, ) or layer.groups != 1:
                raise ValueError(f'{name}: only 1x1 Conv1d layers are exportable')
            refs['weight_shape'] += [1]
            return self.emit('conv2d', [x], name, stride=[1, 1], padding=[0, 0], groups=1, **refs)
        return self.emit('conv2d', [x], name, stride=list(layer.stride),
                         padding=list(layer.padding), groups=layer.groups, **refs)

    def neuron(self, name: str, neuron: nn.Module, x: str) -> str:
        if not isinstance(neuron, IELIF):
            raise ValueError(f'{name} is a {type(neuron).__name__}; integer export supports '
                             'IE-LIF neurons only (stateless, so time steps fold into the batch)')
        return self.emit('ie_lif', [x], name, levels=neuron.levels, gain=neuron.gain,
                         norm=neuron.norm)

    def repconv(self, name: str, m: RepConv, x: str) -> str:
        y = self.synapse(name + '.pw_in', m.pw_in, x)
        y = self.emit('pad', [y], name + '.bn_pad', value=name + '.pad_value')
        y = self.synapse(name + '.dw', m.dw, y)
        return self.synapse(name + '.pw_out', m.pw_out, y)

    def module(self, name: str, m: nn.Module, x: str) -> str:
        kind = type(m)
        if kind is Downsample:
            x = self.neuron(name + '.neuron', m.neuron, x) if m.neuron is not None else x
            return self.synapse(name + '.conv', m.conv, x)
        if kind is SepConv:
            y = self.synapse(name + '.pwconv1', m.pwconv1, self.neuron(name + '.neuron1',
                                                                       m.neuron1, x))
            y = self.synapse(name + '.dwconv', m.dwconv, self.neuron(name + '.neuron2',
                                                                     m.neuron2, y))
            return self.synapse(name + '.pwconv2', m.pwconv2, y)
        if kind is ConvBlock:
            x = self.emit('add', [x, self.module(name + '.sepconv', m.sepconv, x)], name)
            y = self.synapse(name + '.conv1', m.conv1, self.neuron(name + '.neuron1', m.neuron1, x))
            y = self.synapse(name + '.conv2', m.conv2, self.neuron(name + '.neuron2', m.neuron2, y))
            return self.emit('add', [x, y], name)
        if kind is QSDSA:
            if m.attention_mode != 'spike':
                raise ValueError(f'{name}: softmax attention has no spike-driven form')
            s = self.neuron(name + '.head_neuron', m.head_neuron, x)
            qkv = [self.neuron(f'{name}.{b}.neuron', getattr(m, b).neuron,
                               self.repconv(f'{name}.{b}.conv', getattr(m, b).conv, s))
                   for b in 'qkv']
            y = self.emit('attention', qkv, name, num_heads=m.num_heads, scale=m.scale)
            return self.repconv(name + '.proj', m.proj,
                                self.neuron(name + '.attn_neuron', m.attn_neuron, y))
        if kind is MLP:
            y = self.synapse(name + '.fc1', m.fc1, self.neuron(name + '.fc1_neuron',
                                                               m.fc1_neuron, x))
            return self.synapse(name + '.fc2', m.fc2, self.neuron(name + '.fc2_neuron',
                                                                  m.fc2_neuron, y))
        if kind is TransformerBlock:
            x = self.emit('add', [x, self.module(name + '.attn', m.attn, x)], name,
                          channel_scale=self.array(name + '.layer_scale1', m.layer_scale1,
                                                   np.float32))
            return self.emit('add', [x, self.module(name + '.mlp', m.mlp, x)], name,
                             channel_scale=self.array(name + '.layer_scale2', m.layer_scale2,
                                                      np.float32))
        raise ValueError(f'{name}: {kind.__name__} is not part of the QSD classifier; integer '
                         'export covers QSDTransformer + QSDClsHead only')


def _prepare(model: nn.Module) -> Dict[str, torch.Tensor]:
    """Fold norms (in place on a fused copy), freeze weights; return RepConv pad values."""
    pads = {}
    for name, m in model.named_modules():
        if isinstance(m, RepConv) and isinstance(m.bn_pad, nn.modules.batchnorm._BatchNorm):
            pads[name + '.pad_value'] = affine_of_bn(m.bn_pad)[1]
            m.pw_in = fold_norms_into_conv(m.pw_in, [m.bn_pad])
            m.bn_pad = nn.Identity()
    replace_modules(model, lambda m: synapse_of(m) if isinstance(m, LSQWeightMixin) else None)
    leftover = [n for n, m in model.named_modules()
                if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if leftover:
        raise ValueError(f'normalisation layers without a conv to fold into: {leftover[:3]}')
    return pads


@torch.no_grad()
def export_integer(model: nn.Module, prefix: str) -> Dict[str, str]:
    """Write ``prefix.npz`` + ``prefix.json`` for an mmpretrain ``ImageClassifier``."""
    backbone, head = getattr(model, 'backbone', None), getattr(model, 'head', None)
    if backbone is None or not hasattr(backbone, 'stages') or not hasattr(head, 'fc') \
            or getattr(model, 'neck', None) is not None:
        raise ValueError(f'{type(model).__name__} is not a QSD classifier (QSDTransformer '
                         'backbone, no neck, QSDClsHead); integer export covers that only')
    if backbone.out_indices != (3, ):
        raise ValueError('the exported classifier reads the last stage: set out_indices=(3,)')
    model = fuse_norms(model)
    exporter = _Exporter()
    for key, value in _prepare(model).items():
        exporter.array(key, value, np.float32)
    x = 'input'
    for i, stage in enumerate(model.backbone.stages):
        for j, block in enumerate(stage):
            x = exporter.module(f'backbone.stages.{i}.{j}', block, x)
    x = exporter.emit('token_mean', [x], 'head')
    x = exporter.synapse('head.fc', model.head.fc, exporter.neuron('head.neuron',
                                                                    model.head.neuron, x))
    logits = exporter.emit('time_mean', [x], 'head')
    graph = dict(format=FORMAT, arrays=os.path.basename(prefix) + '.npz',
                 time_steps=model.backbone.time_steps, in_channels=model.backbone.in_channels,
                 num_classes=model.head.num_classes, input='input', output=logits,
                 layers=exporter.layers)
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    np.savez(prefix + '.npz', **exporter.arrays)
    with open(prefix + '.json', 'w') as file:
        json.dump(graph, file, indent=1)
    return dict(graph=prefix + '.json', arrays=prefix + '.npz')


# ----------------------------------------------------------------- reference runner
@dataclass
class Spikes:
    """IE-LIF output: integer counts (int64) worth ``scale`` each, ``levels`` virtual steps."""
    counts: torch.Tensor
    scale: float
    levels: int

    def steps(self):
        """The binary spike trains, one per virtual time step (Eq. 10)."""
        return ((self.counts > t).to(torch.int64) for t in range(self.levels))


def _int_conv(spikes: torch.Tensor, weight: torch.Tensor, layer: dict) -> torch.Tensor:
    """Integer conv of binary spikes: im2col, then int64 sums of the weights."""
    b, c, h, w = spikes.shape
    k = weight.shape[-2:]
    cols = F.unfold(spikes.double(), k, padding=layer['padding'], stride=layer['stride'])
    cols = cols.to(torch.int64).view(b, layer['groups'], -1, cols.shape[-1])
    wg = weight.view(layer['groups'], weight.shape[0] // layer['groups'], -1)
    out = torch.einsum('gok,bgkl->bgol', wg, cols)
    oh = (h + 2 * layer['padding'][0] - k[0]) // layer['stride'][0] + 1
    return out.reshape(b, weight.shape[0], oh, -1)


def _synapse(layer, x, arrays):
    weight = arrays[layer['weight']].to(torch.int64).view(layer['weight_shape'])
    scale, bias = arrays[layer['scale']].double(), arrays[layer['bias']].double()
    if isinstance(x, Spikes):
        if layer['type'] == 'linear':
            acc = sum(s @ weight.t() for s in x.steps())
        else:
            acc = sum(_int_conv(s, weight, layer) for s in x.steps())
        out = acc.double() * x.scale
    elif layer['type'] == 'linear':
        out = x @ weight.double().t()
    else:
        out = F.conv2d(x, weight.double(), None, layer['stride'], layer['padding'], 1,
                       layer['groups'])
    shape = (-1, ) + (1, ) * (out.dim() - 2)
    return out * scale.view(shape) + bias.view(shape)


def _attention(layer, q: Spikes, k: Spikes, v: Spikes):
    b, c, h, w = q.counts.shape
    heads = layer['num_heads']

    def split(t):
        return t.flatten(2).view(b, heads, c // heads, h * w).transpose(-1, -2)
    kv = sum(split(ks).transpose(-1, -2) @ split(vs) for ks in k.steps() for vs in v.steps())
    y = sum(split(qs) @ kv for qs in q.steps())  # int64 (B, heads, N, d)
    y = y.transpose(-1, -2).reshape(b, c, h, w).double()
    return y * (layer['scale'] * q.scale * k.scale * v.scale)


def _ie_lif(layer, v):
    counts = torch.floor(v * layer['gain'] + 0.5).clamp(0, layer['levels']).to(torch.int64)
    return Spikes(counts, 1.0 / layer['norm'], layer['levels'])


def _add(layer, x, y, arrays):
    if 'channel_scale' in layer:
        y = y * arrays[layer['channel_scale']].double().view(-1, 1, 1)
    return x + y


def _pad(layer, x, arrays):
    value = arrays[layer['value']].double().view(-1, 1, 1)
    return F.pad(x - value, (1, 1, 1, 1)) + value


#: op type -> f(layer, inputs, arrays); ``time_mean`` is finished by the runner (needs T).
OPS = {
    'conv2d': lambda layer, args, arrays: _synapse(layer, args[0], arrays),
    'linear': lambda layer, args, arrays: _synapse(layer, args[0], arrays),
    'ie_lif': lambda layer, args, arrays: _ie_lif(layer, args[0]),
    'attention': lambda layer, args, arrays: _attention(layer, *args),
    'add': lambda layer, args, arrays: _add(layer, *args, arrays),
    'pad': lambda layer, args, arrays: _pad(layer, args[0], arrays),
    'token_mean': lambda layer, args, arrays: args[0].flatten(2).mean(2),
    'time_mean': lambda layer, args, arrays: args[0],
}


@torch.no_grad()
def run_exported(path: str, images: torch.Tensor) -> torch.Tensor:
    """Logits (float64) of the exported classifier for normalised ``(B, C, H, W)`` images.

    ``path`` is the ``.json`` graph (or its prefix); nothing but the two exported
    files is read.  Time steps are folded into the batch (IE-LIF is stateless).
    """
    path = path if path.endswith('.json') else path + '.json'
    with open(path) as file:
        graph = json.load(file)
    if graph.get('format') != FORMAT:
        raise ValueError(f'{path} is not an {FORMAT} export (format={graph.get("format")!r})')
    with np.load(os.path.join(os.path.dirname(path), graph['arrays'])) as npz:
        arrays = {k: torch.from_numpy(npz[k]) for k in npz.files}
    steps = graph['time_steps']
    tensors = {graph['input']: images.double().repeat(steps, 1, 1, 1)}
    for layer in graph['layers']:
        if layer['type'] not in OPS:
            raise ValueError(f"unknown op {layer['type']!r} in {path}")
        args = [tensors[name] for name in layer['inputs']]
        out = OPS[layer['type']](layer, args, arrays)
        if layer['type'] == 'time_mean':
            out = out.view(steps, -1, out.shape[-1]).mean(0)
        tensors[layer['output']] = out
    return tensors[graph['output']]
