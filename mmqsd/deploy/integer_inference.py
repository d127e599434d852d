"""Exact integer inference: BN/MPRF folded, uint8 spike counts x int8 weights -> int32.

QSD tensors are integers times scales: weights are ``step * Q(w)`` (b-bit
integers, per-channel step) and IE-LIF outputs are ``k / norm`` (k = 0..b).
After folding BN and MPRF into the preceding quantised convs (scales and
biases change, the integers do not; :func:`~mmqsd.deploy.fuse_norms`), every synapse
fed by a neuron computes ``(step / norm) * sum(k * Q(w)) + bias`` with the sum in
int32, which is exact (:mod:`mmqsd.ops.int8_kernels`: oneDNN u8 x s8 kernels on
x86 CPUs, ``torch._int_mm`` elsewhere).  Where a block declares that a synapse
feeds one IE-LIF and nothing else (``neuron_fusion()``), the neuron runs in
that synapse's epilogue, so only uint8 counts leave it.  RepConv's padding BN
folds away (:func:`~mmqsd.deploy.fusion.fold_padding_norm`), and so do the
transformer blocks' layer scales.  Real-valued inputs (the stem on pixels, the
convs inside SepConv / RepConv that read BN outputs) stay in float32.  The
result equals the multi-bit fp32 model up to that model's own float rounding.
"""
from torch import nn

from .forms import convert


def to_integer_inference(model: nn.Module, channels_last: bool = True,
                         fuse_neurons: bool = True, spike_driven: bool = False) -> nn.Module:
    """A fused copy of ``model`` (eval mode) whose neurons hand uint8 counts to int8 synapses.

    With ``channels_last`` the backbone input is converted to channels-last
    memory, which every later op keeps.  ``fuse_neurons`` runs IE-LIFs inside
    the synapse that feeds them where blocks declare it.  ``spike_driven``
    makes every neuron emit its count as ``b`` binary uint8 spikes over virtual
    time steps instead (Eq. 10): each synapse then accumulates binary inputs
    over all steps in int32, the fast form of :func:`~mmqsd.deploy.to_spike_driven`.
    """
    return convert(model, 'spike-integer' if spike_driven else 'integer', channels_last,
                   fuse_neurons)
