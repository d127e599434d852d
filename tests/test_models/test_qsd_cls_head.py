import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmqsd  # noqa: F401
from mmqsd.analysis import model_size
from mmqsd.deploy import randomize_statistics, verify_spike_driven

TINY = dict(embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4, depths=(1, 1))

# The authors' QSD classifiers (released code) without LSQ steps, and their
# 4-bit weight tensors (the part the paper's 1.8M / 3.8M / 6.8M counts at 4/32).
PAPER_COUNTS = {'T': (15_116_720, 15_015_072), 'M': (31_340_392, 31_193_520),
                'L': (55_358_952, 55_163_456)}


def classifier(arch='T', num_classes=1000, **backbone):
    init_default_scope('mmpretrain')
    dims = TINY['embed_dims'] if arch == TINY else None
    in_channels = dims[-1] if dims else {'T': 360, 'M': 480, 'L': 640}[arch]
    return MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='mmqsd.QSDTransformer', arch=arch, **backbone),
        head=dict(type='mmqsd.QSDClsHead', num_classes=num_classes, in_channels=in_channels,
                  loss=dict(type='CrossEntropyLoss'))))


@pytest.mark.parametrize('arch', ['T', 'M', 'L'])
def test_classifier_parameter_counts_match_paper_table1(arch):
    size = model_size(classifier(arch, mprf=False))
    params, weights = PAPER_COUNTS[arch]
    assert size['params'] == params
    assert size['quantized_weight_params'] == weights
    assert size['params_32bit_equiv'] == round(weights * 4 / 32)
    # paper: 1.8M / 3.9M (3.8M in App. G.1) / 6.8M
    assert abs(size['params_32bit_equiv'] / 1e6 - {'T': 1.85, 'M': 3.85, 'L': 6.85}[arch]) < 0.06


def test_head_loss_predict_and_spike_driven():
    model = classifier(TINY, num_classes=5, layer_scale_init=0.5)
    inputs = torch.randn(2, 3, 32, 32)
    samples = [DataSample().set_gt_label(i) for i in (1, 3)]
    losses = model(inputs, samples, mode='loss')
    assert losses['loss'].requires_grad
    losses['loss'].backward()
    preds = model.eval()(inputs, [DataSample(), DataSample()], mode='predict')
    assert preds[0].pred_score.shape == (5, )
    randomize_statistics(model)
    result = verify_spike_driven(model.double(), inputs.double(),
                                 lambda m, x: m(x, mode='tensor'))
    assert result['max_rel_err'] < 1e-10 and result['spike_values'] == [0.0, 1.0]


def test_head_rejects_wrong_channels():
    model = classifier(TINY, num_classes=5)
    model.head.in_channels = 7
    with pytest.raises(ValueError, match='in_channels'):
        model(torch.randn(1, 3, 32, 32), mode='tensor')
