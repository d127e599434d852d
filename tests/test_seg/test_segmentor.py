"""A tiny QSD spiking Semantic FPN segmentor end to end: loss, inference, spike-driven form."""
import pytest
import torch

from mmqsd.deploy import randomize_statistics, verify_spike_driven
from seg_helpers import NUM_CLASSES, build_segmentor, seg_batch

ODD = (67, 45)


def test_loss_and_backward_reach_every_trainable_parameter():
    torch.manual_seed(0)
    model = build_segmentor().train()
    data = model.data_preprocessor(seg_batch(2, 64, 64), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg'}
    assert torch.isfinite(losses['decode.loss_ce'])
    losses['decode.loss_ce'].backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert missing == []


@pytest.mark.parametrize('test_cfg', [
    dict(mode='whole'),
    dict(mode='slide', crop_size=(32, 32), stride=(24, 24)),
], ids=['whole', 'slide'])
def test_predict_at_an_odd_size(test_cfg):
    torch.manual_seed(0)
    model = build_segmentor(test_cfg=test_cfg).eval()
    data = model.data_preprocessor(seg_batch(2, *ODD), False)
    with torch.no_grad():
        results = model(**data, mode='predict')
    for sample in results:
        assert sample.seg_logits.data.shape == (NUM_CLASSES, *ODD)
        assert sample.pred_sem_seg.data.shape == (1, *ODD)
        assert int(sample.pred_sem_seg.data.max()) < NUM_CLASSES


@pytest.mark.parametrize('size', [(64, 64), ODD, (33, 97)])
def test_tensor_mode_logits_at_stride_4(size):
    model = build_segmentor().eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, *size), mode='tensor')
    assert logits.shape == (1, NUM_CLASSES, (size[0] + 3) // 4, (size[1] + 3) // 4)


def test_whole_segmentor_is_spike_driven_in_float64():
    """Every conv from the stem's successor to conv_seg accumulates binary spikes."""
    torch.manual_seed(0)
    model = randomize_statistics(build_segmentor().double(), seed=3)
    x = torch.randn(1, 3, *ODD, dtype=torch.float64) * 2
    result = verify_spike_driven(model, x, forward=lambda m, inp: m(inp, mode='tensor'))
    assert result['max_rel_err'] <= 1e-5
    assert result['spike_values'] == [0.0, 1.0]
    assert len(result['multibit_values']) == 5  # 0, 1/4, ..., 1: IE-LIF fired at every level
    head_neurons = 1 + 1 + 1 + 2 + 3  # conv_seg + scale-head units
    assert result['num_neurons'] >= head_neurons + 8  # + 8 neck neurons + the backbone's
