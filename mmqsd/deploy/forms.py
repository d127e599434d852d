"""Build an inference form of a trained model by substituting modules by name.

:func:`convert` copies the model (eval mode), for the integer forms folds
norms, RepConv padding norms and layer scales (QSD Appendix D), then replaces
every training module that has an inference form (see the table in
:mod:`mmqsd.deploy.modules`) by that form.  The training modules are never
switched by flags; a converted model holds only deployed modules where the
forms differ, and its ``state_dict`` says what it holds.

Forms: ``'spike'`` (spike-driven reference: binary float spikes through the
training form's float weights), ``'integer'`` (uint8 counts x int8 weights,
int32 sums) and ``'spike-integer'`` (binary uint8 spikes on the int8 kernels).
"""
import copy
from typing import Callable, List, Optional, Tuple

import torch
from torch import nn

from ..layers import (IELIF, LIF, AttentionProducts, LSQWeightMixin, RepConv, SpikeMaxPool2d,
                      SpikeReadout, SpikeSum, SpikingNeuron, TransformerBlock)
from .fusion import fold_layer_scales, fold_padding_norm, fuse_norms, settle_lsq_steps
from .modules import (DenseReadout, FloatSynapse, IELIFCounts, IELIFSpikes, Int8Synapse,
                      LIFCounts, LIFSpikes, SpikeProducts, SpikeTrainMaxPool2d, SpikeTrainSum,
                      synapse_of)

FORMS = ('spike', 'integer', 'spike-integer')


def spiking_neurons(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """``(name, module)`` of every spiking neuron (training or deployed form) in ``model``."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, SpikingNeuron)]


def replace_modules(model: nn.Module, convert_one: Callable[[nn.Module], nn.Module]) -> int:
    """Replace, by name, every submodule for which ``convert_one`` returns a new module
    (None keeps it; the new module is not visited).  Returns the number replaced."""
    replaced = 0
    for name, child in list(model.named_children()):
        new = convert_one(child)
        if new is not None and new is not child:
            setattr(model, name, new)
            replaced += 1
        else:
            replaced += replace_modules(child, convert_one)
    return replaced


def _neuron_form(form: str) -> Callable:
    integer = form != 'spike'

    def convert_one(module):
        if isinstance(module, IELIF):
            if form == 'integer':
                return IELIFCounts(module.levels, module.gain, module.norm)
            return IELIFSpikes(module.levels, module.gain, module.norm, integer)
        if isinstance(module, LIF):
            args = (module.tau, module.threshold, module.surrogate_width, module.reset)
            return LIFCounts(*args) if form == 'integer' else LIFSpikes(*args, integer=integer)
        return None
    return convert_one


def _spike_ops(module):
    if isinstance(module, AttentionProducts):
        if module.mode != 'spike':
            raise TypeError("softmax attention has no spike-driven form; only models built "
                            "with attention='spike' can run spike-driven")
        return SpikeProducts(module.num_heads, module.scale)
    if isinstance(module, SpikeSum):
        return SpikeTrainSum()
    if isinstance(module, SpikeMaxPool2d):
        return SpikeTrainMaxPool2d()
    if isinstance(module, SpikeReadout):
        return DenseReadout()
    return None


def _channels_last_input(module, args):
    x = args[0]
    if isinstance(x, torch.Tensor) and x.dim() == 4:
        return (x.contiguous(memory_format=torch.channels_last), ) + tuple(args[1:])
    return None


def _contiguous_features(module, args, output):
    """Hand library code (mmdet's RoIAlign, heads) features in the default memory format.

    mmcv's CPU ``RoIAlign`` reads its input as contiguous NCHW memory whatever its
    strides, so channels-last features give wrong box and mask scores.
    """
    def standard(x):
        return x.contiguous() if isinstance(x, torch.Tensor) and x.dim() == 4 else x
    if isinstance(output, (tuple, list)):
        return type(output)(standard(x) for x in output)
    return standard(output)


def _feature_extractor(model: nn.Module) -> Optional[nn.Module]:
    """The module whose outputs leave mmqsd's layers: a task model's neck, else its backbone."""
    for name in ('neck', 'backbone'):
        module = getattr(model, name, None)
        if isinstance(module, nn.Module):
            return module
    return None


def fuse_neurons_into_synapses(model: nn.Module) -> int:
    """Give each declared ``(synapse, IE-LIF)`` pair's int8 synapse the neuron; returns the
    count.  Blocks declare the pairs with ``neuron_fusion()``."""
    fused = 0
    for module in model.modules():
        for conv_path, neuron_path in getattr(module, 'neuron_fusion', lambda: [])():
            conv, neuron = module.get_submodule(conv_path), module.get_submodule(neuron_path)
            if isinstance(conv, Int8Synapse) and isinstance(neuron, IELIF) \
                    and neuron.levels <= 127:
                conv.fuse_neuron(neuron.levels, neuron.gain, neuron.norm)
                fused += 1
    return fused


def convert(model: nn.Module, form: str, channels_last: bool = True,
            fuse_neurons: bool = True) -> nn.Module:
    """A converted copy of ``model`` in eval mode (see module docstring).

    ``channels_last`` (integer forms): the backbone input is converted to
    channels-last memory, which every later op keeps (the layout the int8
    kernels and the float convolutions are fastest in); the features a task
    model's neck (else backbone) hands to library heads are made contiguous again.  ``fuse_neurons``
    (integer forms): run IE-LIFs inside the synapse that feeds them where
    blocks declare it.  Raises ``ValueError`` for a model without mmqsd spiking
    neurons (an ANN) and ``TypeError`` for softmax attention.
    """
    if form not in FORMS:
        raise ValueError(f'unknown inference form {form!r}; choose one of {FORMS}')
    if not spiking_neurons(model):
        raise ValueError(f'{type(model).__name__} has no mmqsd spiking neuron (IELIF/LIF); '
                         f'only mmqsd models have a {form} inference form')
    if form == 'spike':
        model = settle_lsq_steps(copy.deepcopy(model)).eval()
        replace_modules(model, lambda m: FloatSynapse(m) if isinstance(m, LSQWeightMixin)
                        else None)
    else:
        model = fuse_norms(model)
        if channels_last:
            for module in model.modules():
                if hasattr(module, 'to_multistep'):  # backbones: the first op on the image
                    module.register_forward_pre_hook(_channels_last_input)
            extractor = _feature_extractor(model)
            if extractor is not None:
                extractor.register_forward_hook(_contiguous_features)
        for module in list(model.modules()):
            if isinstance(module, RepConv):
                fold_padding_norm(module)
            elif isinstance(module, TransformerBlock):
                fold_layer_scales(module)
        replace_modules(model, lambda m: synapse_of(m) if isinstance(m, LSQWeightMixin)
                        else None)
        if fuse_neurons:
            fuse_neurons_into_synapses(model)
    replace_modules(model, _neuron_form(form))
    replace_modules(model, _spike_ops)
    return model.eval()  # the substituted modules too
