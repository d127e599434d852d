"""Exact integer inference: BN/MPRF folded, int8 spike counts x int8 weights -> int32.

QSD tensors are integers times scales: weights are ``step * Q(w)`` (b-bit
integers, per-channel step) and IE-LIF outputs are ``k / norm`` (k = 0..b).
After folding BN and MPRF into the preceding quantised convs (scales and
biases change, the integers do not; :func:`fuse_norms`), every synapse fed by
a neuron computes ``(step / norm) * sum(k * Q(w)) + bias`` with the sum in int32
(``torch._int_mm``), which is exact.  Real-valued inputs (the stem on pixels,
the convs inside SepConv / RepConv that read BN outputs) stay in floating point.
The result equals the multi-bit fp32 model up to that model's own float
rounding.
"""
import torch
from torch import nn

from ..layers import LSQWeightMixin
from .fusion import fuse_norms
from .spike_driven import set_neuron_output


def _channels_last_input(module, args):
    x = args[0]
    if isinstance(x, torch.Tensor) and x.dim() == 4:
        return (x.contiguous(memory_format=torch.channels_last), ) + tuple(args[1:])
    return None


def to_integer_inference(model: nn.Module, channels_last: bool = True) -> nn.Module:
    """A fused copy of ``model`` (eval mode) whose neurons hand int8 counts to int8 synapses.

    With ``channels_last`` the backbone input is converted to channels-last
    memory, which every later op keeps: the int8 im2col then reads contiguous
    NHWC views and the float convolutions use their fast channels-last kernels.
    """
    model = fuse_norms(model)
    if channels_last:
        for module in model.modules():
            if hasattr(module, 'to_multistep'):  # backbones: the first op on the image
                module.register_forward_pre_hook(_channels_last_input)
    for module in model.modules():
        if isinstance(module, LSQWeightMixin) and module.quantized:
            module.freeze_()
    return set_neuron_output(model, 'integer_counts', True, 'an integer inference form')
