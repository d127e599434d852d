"""Exact integer inference: BN/MPRF folded, uint8 spike counts x int8 weights -> int32.

QSD tensors are integers times scales: weights are ``step * Q(w)`` (b-bit
integers, per-channel step) and IE-LIF outputs are ``k / norm`` (k = 0..b).
After folding BN and MPRF into the preceding quantised convs (scales and
biases change, the integers do not; :func:`fuse_norms`), every synapse fed by
a neuron computes ``(step / norm) * sum(k * Q(w)) + bias`` with the sum in int32,
which is exact (:mod:`mmqsd.ops.int8_kernels`: oneDNN u8 x s8 kernels on x86
CPUs, ``torch._int_mm`` elsewhere).  Where a block declares that a synapse
feeds one IE-LIF and nothing else (``neuron_fusion()``), the neuron runs in
that synapse's epilogue, so only uint8 counts leave it.  RepConv's padding BN
folds away (:meth:`~mmqsd.layers.RepConv.fold_padding_norm_`), and so do the
transformer blocks' layer scales.  Real-valued inputs
(the stem on pixels, the convs inside SepConv / RepConv that read BN outputs)
stay in float32.  The result equals the multi-bit fp32 model up to that
model's own float rounding.
"""
import torch
from torch import nn

from ..layers import IELIF, LSQWeightMixin, RepConv, TransformerBlock
from ..layers.quant import FusedNeuron
from .fusion import fuse_norms
from .spike_driven import set_neuron_output


def _channels_last_input(module, args):
    x = args[0]
    if isinstance(x, torch.Tensor) and x.dim() == 4:
        return (x.contiguous(memory_format=torch.channels_last), ) + tuple(args[1:])
    return None


def fuse_neurons_into_synapses(model: nn.Module) -> int:
    """Give each declared ``(synapse, IE-LIF)`` pair's synapse the neuron; returns the count."""
    fused = 0
    for module in model.modules():
        for conv_path, neuron_path in getattr(module, 'neuron_fusion', lambda: [])():
            conv, neuron = module.get_submodule(conv_path), module.get_submodule(neuron_path)
            if isinstance(conv, LSQWeightMixin) and conv.frozen and isinstance(neuron, IELIF) \
                    and neuron.int8_counts:
                conv.fused_neuron = FusedNeuron(neuron.levels, neuron.gain, neuron.norm)
                conv._clear_inference_cache()
                fused += 1
    return fused


def to_integer_inference(model: nn.Module, channels_last: bool = True,
                         fuse_neurons: bool = True, spike_driven: bool = False) -> nn.Module:
    """A fused copy of ``model`` (eval mode) whose neurons hand uint8 counts to int8 synapses.

    With ``channels_last`` the backbone input is converted to channels-last
    memory, which every later op keeps (the layout the int8 kernels and the
    float convolutions are fastest in).  ``fuse_neurons`` runs IE-LIFs inside
    the synapse that feeds them where blocks declare it.  ``spike_driven``
    makes every neuron emit its count as ``b`` binary uint8 spikes over virtual
    time steps instead (Eq. 10): each synapse then accumulates binary inputs
    over all steps in int32 (:meth:`~mmqsd.layers.LSQWeightMixin._int8_forward`),
    the fast form of :func:`~mmqsd.deploy.to_spike_driven`.
    """
    model = fuse_norms(model)
    if channels_last:
        for module in model.modules():
            if hasattr(module, 'to_multistep'):  # backbones: the first op on the image
                module.register_forward_pre_hook(_channels_last_input)
    for module in model.modules():
        if isinstance(module, RepConv):
            module.fold_padding_norm_()
        elif isinstance(module, TransformerBlock):
            module.fold_layer_scales_()
    for module in model.modules():
        if isinstance(module, LSQWeightMixin) and module.quantized:
            module.freeze_()
    if fuse_neurons:  # spike-driven: the neuron expands the fused synapse's counts
        fuse_neurons_into_synapses(model)
    set_neuron_output(model, 'spike_driven', spike_driven, 'a spike-driven form')
    return set_neuron_output(model, 'integer_counts', True, 'an integer inference form')
