"""A tiny QSD Mask R-CNN (the demo model) trains, predicts and runs spike-driven on CPU."""
import copy
import os.path as osp

import pytest
import torch
from mmdet.testing import demo_mm_inputs

from mmqsd.apis import build_model_from_config
from mmqsd.deploy import randomize_statistics, verify_spike_driven
from mmqsd.layers import IELIF

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(ROOT, 'configs', 'det', 'qsd_t_maskrcnn_demo.py')
SHAPES = [(3, 128, 128), (3, 96, 128)]


@pytest.fixture(scope='module')
def detector():
    torch.manual_seed(0)
    model = build_model_from_config(DEMO_CONFIG)
    model.init_weights()
    return model


def batch(model, training):
    data = demo_mm_inputs(2, SHAPES, num_items=[2, 3], num_classes=3, with_mask=True)
    return model.data_preprocessor(data, training)


def test_loss_and_backward_reach_backbone_and_neck(detector):
    detector.train()
    losses = detector(**batch(detector, True), mode='loss')
    expected = {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask'}
    assert expected <= set(losses)
    total, _ = detector.parse_losses(losses)
    assert torch.isfinite(total)
    detector.zero_grad()
    total.backward()
    for name in ('backbone.stages.0.0.conv.weight', 'neck.lateral_convs.0.conv.weight',
                 'neck.fpn_convs.0.conv.weight', 'roi_head.mask_head.conv_logits.weight'):
        grad = detector.get_parameter(name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.any(), name


def test_predict_returns_boxes_and_masks_at_input_size(detector):
    detector.eval()
    with torch.no_grad():
        results = detector(**batch(detector, False), mode='predict')
    for result, (_, height, width) in zip(results, SHAPES):
        pred = result.pred_instances
        assert pred.bboxes.shape[1] == 4 and len(pred.scores) == len(pred.labels)
        assert pred.masks.shape[1:] == (height, width)
        assert len(pred) <= 20  # demo test_cfg.rcnn.max_per_img


def test_features_are_spike_driven_up_to_the_heads(detector):
    """Backbone + spiking FPN compute the same maps from binary spikes alone."""
    model = randomize_statistics(copy.deepcopy(detector)).eval()
    images = batch(model, False)['inputs']
    report = verify_spike_driven(model, images, forward=lambda m, x: m.extract_feat(x))
    assert report['max_rel_err'] < 1e-4
    assert report['spike_values'] == [0.0, 1.0]
    neck_neurons = sum(isinstance(m, IELIF) for m in model.neck.modules())
    assert neck_neurons == 8 and report['num_neurons'] > neck_neurons
