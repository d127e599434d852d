"""Counting the int8 work of a deployed integer form (benchmark throughput figures)."""
import pytest
import torch

from mmqsd.deploy import Int8Synapse, SpikeCounts, SpikeTrain, to_integer_inference
from mmqsd.deploy.int8_work import count_int8_macs
from mmqsd.layers import QuantConv1d, QuantConv2d, QuantLinear


@pytest.mark.parametrize('layer, shape, per_output', [
    (lambda: QuantConv2d(4, 6, 3, padding=1, weight_bits=4), (2, 3, 4, 5, 5), 4 * 9),
    (lambda: QuantConv2d(6, 6, 7, padding=3, groups=6, weight_bits=4), (1, 2, 6, 5, 5), 49),
    (lambda: QuantConv1d(6, 5, 1, weight_bits=4), (2, 3, 6, 10), 6),
    (lambda: QuantLinear(6, 5, weight_bits=4), (2, 3, 6), 6),
])
def test_macs_of_each_synapse_kind_by_input(layer, shape, per_output):
    synapse = Int8Synapse(layer().eval())
    counts = torch.randint(0, 5, shape, dtype=torch.uint8)
    outputs = synapse(SpikeCounts(counts, 0.25)).numel()
    work = count_int8_macs(synapse, lambda: synapse(SpikeCounts(counts, 0.25)))
    assert (work.int8_macs, work.float_macs) == (outputs * per_output, 0)
    # binary spikes over D = 4 virtual steps: the kernel reads D inputs per weight
    train = (counts.unsqueeze(0) > torch.arange(4).view(-1, *[1] * counts.dim())).to(torch.uint8)
    work = count_int8_macs(synapse, lambda: synapse(SpikeTrain(train, 0.25)))
    assert work.int8_macs == outputs * per_output * 4
    # real-valued inputs run in float32
    work = count_int8_macs(synapse, lambda: synapse(counts.float()))
    assert (work.int8_macs, work.float_macs, work.int8_share) == (0, outputs * per_output, 0.0)


def test_integer_qsd_block_has_int8_and_float_work():
    from mmqsd.layers.qsd_blocks import ConvBlock
    block = to_integer_inference(ConvBlock(8, dict(type='ie_lif'), 4).eval())
    x = torch.randn(1, 2, 8, 6, 6)
    work = count_int8_macs(block, lambda: block(x))
    # SepConv's pwconv1 (8->16) and dw7x7 and both 3x3 convs read spikes; pwconv2 reads
    # the depthwise conv's real-valued output
    positions = 2 * 6 * 6
    assert work.int8_macs == positions * (16 * 8 + 16 * 49 + 32 * 8 * 9 + 8 * 32 * 9)
    assert work.float_macs == positions * 8 * 16
    assert 0 < work.int8_share < 1


def test_count_refuses_a_model_without_int8_synapses():
    with pytest.raises(ValueError, match='to_integer_inference'):
        count_int8_macs(torch.nn.Conv2d(1, 1, 1), lambda: None)
