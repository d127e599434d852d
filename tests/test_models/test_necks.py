import pytest
import torch

from mmqsd.deploy import randomize_statistics, verify_spike_driven
from mmqsd.layers import IELIF, QuantConv2d
from mmqsd.models.necks import SpikingFPN

IN_CHANNELS = [8, 16, 24, 32]
STRIDES = (4, 8, 16, 32)


def pyramid(batch=2, size=64, time_steps=None, scale=2.0):
    lead = (batch, ) if time_steps is None else (time_steps, batch)
    return [torch.randn(*lead, c, size // s, size // s) * scale
            for c, s in zip(IN_CHANNELS, STRIDES)]


@pytest.mark.parametrize('num_outs,start_level', [(4, 0), (5, 0), (5, 1)])
def test_output_shapes_and_extra_levels(num_outs, start_level):
    neck = SpikingFPN(IN_CHANNELS, 12, num_outs, start_level=start_level)
    outs = neck(pyramid(size=128))
    assert len(outs) == num_outs
    for level, out in enumerate(outs):
        stride = 4 * 2 ** (start_level + level)
        assert out.shape == (2, 12, 128 // stride, 128 // stride)
    if num_outs > 4 - start_level:  # the extra level is a stride-2 max-pool of the last one
        torch.testing.assert_close(outs[-1], outs[-2][..., ::2, ::2])


def test_spiking_structure_and_bits():
    neck = SpikingFPN(IN_CHANNELS, 12, 5, weight_bits=3)
    convs = [m for m in neck.modules() if isinstance(m, QuantConv2d)]
    assert len(convs) == 8 and all(c.weight_bits == 3 for c in convs)
    assert sum(isinstance(m, IELIF) for m in neck.modules()) == 8
    assert [c.conv.kernel_size for c in neck.fpn_convs] == [(3, 3)] * 4
    fp = SpikingFPN(IN_CHANNELS, 12, 5, weight_bits=None)
    assert not any(m.quantized for m in fp.modules() if isinstance(m, QuantConv2d))


def test_top_down_path_reaches_the_finest_level():
    neck = SpikingFPN(IN_CHANNELS, 12, 4, weight_bits=None).eval()
    inputs = pyramid()
    base = neck(inputs)[0]
    inputs[3] = inputs[3] + 3.0  # only the coarsest input changes
    assert not torch.allclose(neck(inputs)[0], base)


def test_xavier_init_of_every_conv():
    neck = SpikingFPN(IN_CHANNELS, 12, 5)
    for conv in neck.modules():
        if isinstance(conv, QuantConv2d):
            conv.weight.data.fill_(7.)
            conv.bias.data.fill_(7.)
    neck.init_weights()
    for conv in (m for m in neck.modules() if isinstance(m, QuantConv2d)):
        fan_in, fan_out = conv.weight[0].numel(), conv.weight.shape[0] * conv.weight[0, 0].numel()
        bound = (6 / (fan_in + fan_out)) ** 0.5
        assert conv.weight.abs().max() <= bound and not conv.bias.any()


def test_backward_reaches_every_parameter():
    neck = SpikingFPN(IN_CHANNELS, 12, 5, neuron_cfg=dict(gain=4.))  # every neuron fires
    inputs = [x.requires_grad_() for x in pyramid()]
    sum(out.square().mean() for out in neck(inputs)).backward()
    missing = [n for n, p in neck.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, missing
    assert all(x.grad is not None for x in inputs)


def test_spike_driven_form_is_equivalent():
    neck = randomize_statistics(SpikingFPN(IN_CHANNELS, 12, 5, weight_bits=4))
    report = verify_spike_driven(neck, pyramid(), forward=lambda m, x: m(x))
    assert report['max_rel_err'] < 1e-5
    assert report['spike_values'] == [0.0, 1.0]
    assert len(report['multibit_values']) == 5  # 0, 1/4, ..., 1: all IE-LIF levels fired
    assert report['num_neurons'] == 8


def test_multistep_inputs_are_averaged_over_time():
    neck = SpikingFPN(IN_CHANNELS, 12, 5, neuron='lif')
    outs = neck(pyramid(time_steps=3))
    assert [o.shape[:2] for o in outs] == [(2, 12)] * 5
    with pytest.raises(ValueError, match="time_reduce='none'"):
        neck(pyramid())
    ielif = SpikingFPN(IN_CHANNELS, 12, 4, weight_bits=None).eval()
    x = pyramid()
    repeated = [t.unsqueeze(0).expand(2, *t.shape) for t in x]  # stateless IE-LIF: T copies
    for a, b in zip(ielif(repeated), ielif(x)):
        torch.testing.assert_close(a, b)


def test_end_level_is_inclusive_as_in_mmdet():
    neck = SpikingFPN(IN_CHANNELS, 12, 3, start_level=1, end_level=2)
    assert [c.conv.in_channels for c in neck.lateral_convs] == IN_CHANNELS[1:3]
    assert [o.shape[-1] for o in neck(pyramid())] == [8, 4, 2]


@pytest.mark.parametrize('kwargs,inputs,match', [
    (dict(num_outs=3), None, 'num_outs=3'),
    (dict(num_outs=5, start_level=4), None, 'start_level'),
    (dict(num_outs=5), 3, 'expects 4 feature maps'),
])
def test_errors_explain_the_fix(kwargs, inputs, match):
    with pytest.raises(ValueError, match=match):
        neck = SpikingFPN(IN_CHANNELS, 12, **kwargs)
        neck(pyramid()[:inputs])
