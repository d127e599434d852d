"""FGDDistiller: frozen eval teacher outside the checkpoint, loss_fgd, any OpenMMLab model."""
import os.path as osp
import warnings

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import load_checkpoint
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from mmpretrain.structures import DataSample

from mmqsd.models.distillers import FGDDistiller

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = dict(embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4, depths=(2, 1))
ANN_HEAD = dict(weight_bits=None, neuron=dict(type='relu'))


def classifier(backbone, **head):
    return dict(type='ImageClassifier', backbone=dict(dict(arch=TINY), **backbone),
                head=dict(type='mmqsd.QSDClsHead', num_classes=10, in_channels=96,
                          loss=dict(type='CrossEntropyLoss'), **head))


STUDENT = classifier(dict(type='mmqsd.QSDTransformer'))
TEACHER = classifier(dict(type='mmqsd.ANNTransformer'), **ANN_HEAD)


@pytest.fixture(autouse=True)
def no_teacher_ckpt_warning():
    """Most tests distil from an untrained teacher on purpose."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', 'FGDDistiller: no teacher_ckpt')
        yield


@pytest.fixture
def distiller():
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    return FGDDistiller(STUDENT, TEACHER)


def batch(size=4):
    samples = [DataSample().set_gt_label(i % 10) for i in range(size)]
    return torch.randn(size, 3, 32, 32) * 2, samples


def test_teacher_is_frozen_in_eval_and_outside_parameters(distiller):
    distiller.train()
    assert distiller.student.training and not distiller.teacher.training
    assert not any(m.training for m in distiller.teacher.modules())
    assert not any(p.requires_grad for p in distiller.teacher.parameters())
    teacher_ids = {id(p) for p in distiller.teacher.parameters()}
    assert teacher_ids and not teacher_ids & {id(p) for p in distiller.parameters()}
    assert distiller.data_preprocessor is distiller.student.data_preprocessor


def test_dtype_moves_reach_the_teacher(distiller):
    distiller.double()
    assert all(p.dtype == torch.float64 for p in distiller.teacher.parameters())


def test_loss_adds_weighted_fgd_and_trains_the_student_only(distiller, monkeypatch):
    seen = {}
    fgd = distiller.fgd_loss.forward

    def spy(student, teacher):
        seen['teacher_graph'] = [r[b].grad_fn for r in teacher for b in 'qkv']
        seen['value'] = fgd(student, teacher)
        return seen['value']

    monkeypatch.setattr(distiller.fgd_loss, 'forward', spy)
    distiller.train()
    losses = distiller(*batch(), mode='loss')
    assert set(losses) == {'loss', 'loss_fgd'}
    assert losses['loss_fgd'].item() == pytest.approx(2.0 * seen['value'].item())
    assert 0 < seen['value'] <= 2 ** 0.5
    assert seen['teacher_graph'] == [None] * 9  # 3 layers x q/k/v, no autograd graph
    losses['loss_fgd'].backward()  # FGD alone reaches the student's q/k/v
    assert all(p.grad is None for p in distiller.teacher.parameters())
    q_conv = distiller.student.backbone.stages[2][1].attn.q.conv.pw_in.weight
    assert q_conv.grad is not None and q_conv.grad.abs().sum() > 0


def test_predict_and_tensor_modes_are_the_students(distiller):
    distiller.eval()
    inputs, samples = batch(2)
    assert torch.equal(distiller(inputs, mode='tensor'), distiller.student(inputs, mode='tensor'))
    predictions = distiller(inputs, samples, mode='predict')
    assert predictions[0].pred_score.shape == (10, )


def test_checkpoint_holds_the_student_only_and_loads_both_ways(distiller, tmp_path):
    state = distiller.state_dict()
    plain = PRETRAIN_MODELS.build(STUDENT)
    assert list(state) == list(plain.state_dict())
    plain.load_state_dict(state, strict=True)  # a distilled checkpoint loads into the student
    # ... and back into a distiller, through torch and through mmengine's loader
    other = FGDDistiller(STUDENT, TEACHER)
    other.load_state_dict(plain.state_dict(), strict=True)
    path = str(tmp_path / 'student.pth')
    torch.save(dict(state_dict=state), path)
    third = FGDDistiller(STUDENT, TEACHER)
    load_checkpoint(third, path, strict=True)
    for key, value in state.items():
        assert torch.equal(other.student.state_dict()[key], value)
        assert torch.equal(third.student.state_dict()[key], value)


def test_teacher_checkpoint_is_loaded(tmp_path):
    init_default_scope('mmpretrain')
    trained = PRETRAIN_MODELS.build(TEACHER)
    path = str(tmp_path / 'ann.pth')
    torch.save(dict(state_dict=trained.state_dict()), path)
    distiller = FGDDistiller(STUDENT, TEACHER, teacher_ckpt=path)
    for key, value in trained.state_dict().items():
        assert torch.equal(distiller.teacher.state_dict()[key], value)


def test_missing_teacher_checkpoint_says_how_to_get_one():
    init_default_scope('mmpretrain')
    with pytest.raises(FileNotFoundError, match='train the ANN teacher first'):
        FGDDistiller(STUDENT, TEACHER, teacher_ckpt='data/checkpoints/none.pth')


def test_teacher_from_its_training_config():
    init_default_scope('mmpretrain')
    student = classifier(dict(type='mmqsd.QSDTransformer'))
    with pytest.warns(UserWarning, match='no teacher_ckpt'):
        distiller = FGDDistiller(student, osp.join(ROOT, 'configs/cls/ann_t_demo_digits.py'))
    backbone = distiller.teacher.backbone
    assert type(backbone).__name__ == 'ANNTransformer' and backbone.embed_dims == TINY['embed_dims']


def test_layer_or_head_mismatch_is_caught_at_build():
    init_default_scope('mmpretrain')
    shallow = classifier(dict(type='mmqsd.ANNTransformer', arch=dict(TINY, depths=(1, 1))),
                         **ANN_HEAD)
    with pytest.raises(ValueError, match='one to one and head by head'):
        FGDDistiller(STUDENT, shallow)
    # selecting matching layers makes it work: the last stage only
    stage4 = dict(name_pattern=r'stages\.3\.')
    FGDDistiller(STUDENT, shallow, recorder=stage4)


def test_wraps_a_spikformer_classifier():
    init_default_scope('mmpretrain')
    arch = dict(embed_dims=32, depth=2, num_heads=4)
    student = dict(type='ImageClassifier',
                   backbone=dict(type='mmqsd.QSDSpikformer', arch=arch, neuron='lif', time_steps=2,
                                 mprf=False),
                   head=dict(type='mmqsd.QSDClsHead', num_classes=10, in_channels=32,
                             neuron=dict(type='identity'), loss=dict(type='CrossEntropyLoss')))
    teacher = dict(student, backbone=dict(type='mmqsd.QSDSpikformer', arch=arch, weight_bits=None,
                                          neuron=dict(type='relu'), mprf=False,
                                          attention='softmax', attn_scale=None))
    distiller = FGDDistiller(student, teacher)
    losses = distiller(*batch(2), mode='loss')
    assert torch.isfinite(losses['loss_fgd']) and losses['loss_fgd'] > 0


def test_wraps_an_mmseg_segmentor():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    init_default_scope('mmseg')

    def segmentor(**backbone):
        return ConfigDict(
            type='EncoderDecoder', data_preprocessor=dict(type='SegDataPreProcessor'),
            backbone=dict(arch=TINY, time_reduce='mean', **backbone),
            decode_head=dict(type='FCNHead', in_channels=96, channels=16, num_convs=1,
                             num_classes=3, loss_decode=dict(type='CrossEntropyLoss')),
            test_cfg=dict(mode='whole'))

    distiller = FGDDistiller(segmentor(type='mmqsd.QSDTransformer'),
                             segmentor(type='mmqsd.ANNTransformer'))
    meta = dict(img_shape=(32, 32), pad_shape=(32, 32), ori_shape=(32, 32))
    samples = [SegDataSample(gt_sem_seg=PixelData(data=torch.randint(0, 3, (1, 32, 32))),
                             metainfo=meta) for _ in range(2)]
    losses = distiller(torch.randn(2, 3, 32, 32), samples, mode='loss')
    assert {'decode.loss_ce', 'loss_fgd'} <= set(losses)
    distiller.eval()
    assert distiller(torch.randn(2, 3, 32, 32), samples, mode='predict')[0].pred_sem_seg.shape \
        == (32, 32)


@pytest.mark.slow
def test_wraps_an_mmdet_detector():
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    init_default_scope('mmdet')

    def retinanet(**backbone):
        return ConfigDict(
            type='RetinaNet', data_preprocessor=dict(type='DetDataPreprocessor'),
            backbone=dict(arch=TINY, time_reduce='mean', out_indices=(1, 2, 3), stage4_stride=2,
                          **backbone),
            neck=dict(type='FPN', in_channels=[32, 64, 96], out_channels=16, num_outs=3),
            bbox_head=dict(
                type='RetinaHead', num_classes=2, in_channels=16, feat_channels=16,
                stacked_convs=1,
                anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                      scales_per_octave=1, ratios=[1.0], strides=[8, 16, 32]),
                bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
                loss_cls=dict(type='FocalLoss', use_sigmoid=True),
                loss_bbox=dict(type='L1Loss')),
            train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4),
                           sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
                           debug=False),
            test_cfg=dict(nms_pre=100, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                          max_per_img=10))

    distiller = FGDDistiller(retinanet(type='mmqsd.QSDTransformer'),
                             retinanet(type='mmqsd.ANNTransformer'))
    meta = dict(img_shape=(64, 64), pad_shape=(64, 64), batch_input_shape=(64, 64),
                ori_shape=(64, 64), scale_factor=(1., 1.))
    samples = []
    for _ in range(2):
        sample = DetDataSample(metainfo=meta)
        sample.gt_instances = InstanceData(bboxes=torch.tensor([[4., 4., 40., 30.]]),
                                           labels=torch.tensor([1]))
        samples.append(sample)
    losses = distiller(torch.randn(2, 3, 64, 64), samples, mode='loss')
    assert {'loss_cls', 'loss_bbox', 'loss_fgd'} <= set(losses)
    distiller.eval()
    assert 'pred_instances' in distiller(torch.randn(2, 3, 64, 64), samples, mode='predict')[0]
