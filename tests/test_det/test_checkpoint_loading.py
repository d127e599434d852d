"""A detection backbone starts from an mmqsd classification checkpoint, or says why it cannot."""
import logging

import pytest
import torch
from mmengine.logging import MMLogger

from mmqsd.layers import QuantConv2d
from mmqsd.models.backbones import QSDTransformer
from mmqsd.ops import lsq_init_step

TINY = dict(embed_dims=[16, 32, 64, 96], num_heads=4, mlp_ratio=4, depths=(2, 1))
DET_ARGS = dict(out_indices=(0, 1, 2, 3), stage4_stride=2, time_reduce='mean')


def classifier_checkpoint(path, arch=TINY, **backbone_args):
    """An mmpretrain-style classifier checkpoint: ``backbone.*`` and ``head.*`` keys."""
    backbone = QSDTransformer(arch, **backbone_args)
    backbone(torch.randn(2, 3, 32, 32))  # initialises the LSQ steps, as training would
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state['head.fc.weight'] = torch.randn(10, arch['embed_dims'][-1])
    torch.save(dict(state_dict=state, meta=dict()), path)
    return backbone


def det_backbone(path, arch=TINY, prefix='backbone.', **kwargs):
    init_cfg = dict(type='Pretrained', checkpoint=str(path), prefix=prefix)
    return QSDTransformer(arch, init_cfg=init_cfg, **dict(DET_ARGS, **kwargs))


@pytest.fixture
def warnings_log():
    """Collect the messages mmengine's current logger emits at WARNING level."""
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_loads_every_backbone_tensor_and_keeps_strides(tmp_path):
    source = classifier_checkpoint(tmp_path / 'cls.pth')
    model = det_backbone(tmp_path / 'cls.pth')
    model.init_weights()
    loaded = model.state_dict()
    for key, value in source.state_dict().items():
        torch.testing.assert_close(loaded[key], value, msg=key)
    assert model.stage_strides == (4, 8, 16, 32)  # stride does not change the weights


def test_other_init_cfgs_still_apply(tmp_path):
    classifier_checkpoint(tmp_path / 'cls.pth')
    model = QSDTransformer(TINY, init_cfg=[
        dict(type='Constant', layer='BatchNorm2d', val=3.),
        dict(type='Pretrained', checkpoint=str(tmp_path / 'cls.pth'), prefix='backbone.')])
    model.init_weights()  # Pretrained wins, as in mmengine
    assert not torch.all(model.stages[0][0].bn.weight == 3.)
    assert model.init_cfg[0]['type'] == 'Constant'


def test_wrong_arch_names_the_mismatched_keys(tmp_path):
    classifier_checkpoint(tmp_path / 'cls.pth')
    wider = dict(TINY, embed_dims=[16, 32, 64, 128])
    with pytest.raises(ValueError, match=r'shape mismatch[\s\S]*stages\.3[\s\S]*arch'):
        det_backbone(tmp_path / 'cls.pth', arch=wider).init_weights()
    deeper = dict(TINY, depths=(2, 2))
    with pytest.raises(ValueError, match=r'missing in the checkpoint: stages\.3\.2\.'):
        det_backbone(tmp_path / 'cls.pth', arch=deeper).init_weights()


def test_wrong_prefix_is_explained(tmp_path):
    classifier_checkpoint(tmp_path / 'cls.pth')
    with pytest.raises(ValueError, match=r"no key .* starts with prefix 'model\.'.*backbone\."):
        det_backbone(tmp_path / 'cls.pth', prefix='model.').init_weights()
    with pytest.raises(ValueError, match=r"Is init_cfg.prefix right\? .*prefix='backbone\.'"):
        det_backbone(tmp_path / 'cls.pth', prefix='').init_weights()


def test_authors_checkpoints_point_to_the_converter(tmp_path):
    torch.save(dict(model={'downsample1_1.encode_conv.weight': torch.zeros(1)}),
                tmp_path / 'authors.pth')
    with pytest.raises(ValueError, match='tools/model_converters'):
        det_backbone(tmp_path / 'authors.pth', prefix='').init_weights()


def test_full_precision_checkpoint_reinitialises_lsq_steps(tmp_path):
    classifier_checkpoint(tmp_path / 'fp.pth', weight_bits=None)
    model = det_backbone(tmp_path / 'fp.pth', weight_bits=4)
    model.init_weights()
    model.eval()(torch.randn(1, 3, 32, 32))
    conv = model.stages[1][0].conv
    assert isinstance(conv, QuantConv2d) and bool(conv.step_initialized)
    torch.testing.assert_close(conv.step_size.data, lsq_init_step(conv.weight, 4))


def test_quantised_checkpoint_into_full_precision_backbone_warns(tmp_path, warnings_log):
    source = classifier_checkpoint(tmp_path / 'q.pth', weight_bits=4)
    model = det_backbone(tmp_path / 'q.pth', weight_bits=None)
    model.init_weights()
    torch.testing.assert_close(model.stages[1][0].conv.weight, source.stages[1][0].conv.weight)
    assert any('latent full-precision weights' in r.getMessage() for r in warnings_log)


def test_mprf_free_checkpoint_loads_with_a_warning_but_not_the_reverse(tmp_path, warnings_log):
    classifier_checkpoint(tmp_path / 'plain.pth', mprf=False)
    det_backbone(tmp_path / 'plain.pth', mprf=True).init_weights()
    assert any('no MPRF parameters' in r.getMessage() for r in warnings_log)
    classifier_checkpoint(tmp_path / 'mprf.pth', mprf=True)
    with pytest.raises(ValueError, match='mprf=True'):
        det_backbone(tmp_path / 'mprf.pth', mprf=False).init_weights()
