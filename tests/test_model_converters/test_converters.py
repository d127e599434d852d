"""Converters of the authors' QSD / SDT-V2 checkpoints (issue 9; reference §5, §11)."""
import argparse

import pytest
import torch

from mmqsd.models.backbones.checkpoint_converters import (authors_key, check_against_model,
                                                        convert_checkpoint, convert_qsd_state_dict,
                                                        convert_sdtv2_state_dict, mmqsd_key)
from mmqsd.layers import LIF

from authors_reference import QSD, SDTV2, AuthorsForward
from converter_helpers import (QSD_CONFIG, SDTV2_CONFIG, TINY, authors_state_dict, build_tiny,
                       randomized)


def _images(seed=0):
    return torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2


def _every_key_accounted(source, report):
    used = set(report.converted.values()) | set(report.discarded)
    assert used == set(source) and not report.unused


def test_key_mapping_is_a_bijection_on_the_full_model():
    keys = build_tiny(QSD_CONFIG).state_dict().keys()
    names = {authors_key(k) for k in keys}
    assert len(names) == len(keys) and all(mmqsd_key(authors_key(k)) == k for k in keys)
    assert authors_key('backbone.stages.2.1.attn.q.conv.bn_pad.running_var') == \
        'block3.0.attn.q_conv.0.body.1.bn.running_var'
    assert mmqsd_key('downsample4.encode_conv.alpha') == 'backbone.stages.3.0.conv.step_size'
    assert mmqsd_key('block4.0.attn.proj_conv.1.weight') == 'backbone.stages.3.1.attn.proj_bn.weight'
    assert mmqsd_key('pos_embed') is None


@torch.no_grad()
def test_qsd_conversion_computes_what_the_authors_code_computes():
    source = authors_state_dict(randomized(build_tiny(QSD_CONFIG)))
    state, report = convert_qsd_state_dict(source)
    model = build_tiny(QSD_CONFIG)
    assert check_against_model(state, model, report).ok, report.summary()
    _every_key_accounted(source, report)
    assert len(report.discarded) == 4 * sum(k.endswith('.alpha') and '.act.' not in k
                                            for k in source)
    model.load_state_dict(state, strict=True)
    x = _images()
    expected = AuthorsForward(source, QSD, TINY['num_heads'])(x, TINY['depths'])
    logits = model(x, mode='tensor')
    assert expected.std() > 0.1, 'the reference must not be trivially constant'
    assert torch.allclose(logits, expected, rtol=1e-4, atol=1e-5)
    assert torch.equal(logits.argmax(1), expected.argmax(1))


@pytest.mark.parametrize('kd_head', ['average', 'drop'])
@torch.no_grad()
def test_sdtv2_conversion_computes_what_the_authors_code_computes(kd_head):
    source = authors_state_dict(randomized(build_tiny(SDTV2_CONFIG)), qsd=False, kd_head=True)
    state, report = convert_sdtv2_state_dict(source, kd_head=kd_head)
    model = build_tiny(SDTV2_CONFIG)
    assert check_against_model(state, model, report).ok, report.summary()
    _every_key_accounted(source, report)
    assert sorted(report.discarded) == ['head_kd.bias', 'head_kd.weight']
    assert len(report.synthesized) == 2 * sum(TINY['depths'])
    model.load_state_dict(state, strict=True)
    if kd_head == 'drop':
        source = {k: v for k, v in source.items() if not k.startswith('head_kd.')}
    x = _images(1)
    expected = AuthorsForward(source, SDTV2, TINY['num_heads'])(x, TINY['depths'])
    assert torch.allclose(model(x, mode='tensor'), expected, rtol=1e-4, atol=1e-5)


def test_hard_reset_lif_is_spikingjelly_lif_over_time():
    """§4.1: H = V + (X - V)/2, S = [H >= V_th], V = H(1 - S), for T = 6 steps."""
    x = torch.randn(6, 50, generator=torch.Generator().manual_seed(0)) * 3
    v, expected = torch.zeros(50), []
    for x_t in x:
        h = v + (x_t - v) / 2
        s = (h >= 1.0).float()
        v = h * (1 - s)
        expected.append(s)
    out = LIF(tau=0.5, threshold=2.0, reset='hard')(x)
    assert torch.equal(out, torch.stack(expected)) and 0 < out.mean() < 1
    with pytest.raises(ValueError, match='reset'):
        LIF(reset='sometimes')


def test_unused_missing_and_mismatched_keys_are_reported(tmp_path):
    source = authors_state_dict(randomized(build_tiny(QSD_CONFIG)))
    del source['block3.1.mlp.fc2_conv.weight']
    source['pos_embed'] = torch.zeros(3)
    source['head.bias'] = torch.zeros(7)
    state, report = convert_qsd_state_dict(source)
    check_against_model(state, build_tiny(QSD_CONFIG), report)
    assert report.unused == ['pos_embed']
    assert report.missing == ['backbone.stages.2.2.mlp.fc2.weight']
    assert report.mismatched == ['head.fc.bias (7,) vs (5,)']
    text = report.summary()
    assert 'UNUSED' in text and 'pos_embed' in text and 'MISSING' in text and 'SHAPE' in text


def test_checkpoint_files_and_cli(tmp_path, load_tool):
    from mmengine import Config
    config = tmp_path / 'tiny_authors.py'
    Config(dict(_base_=[QSD_CONFIG], model=dict(
        backbone=dict(arch=dict(TINY, _delete_=True)), head=dict(in_channels=24, num_classes=5)))).dump(config)
    source = authors_state_dict(randomized(build_tiny(QSD_CONFIG)))
    src, dst = tmp_path / 'authors.pth', tmp_path / 'out' / 'mmqsd.pth'
    torch.save(dict(model=source, epoch=299, args=argparse.Namespace(lr=1.)), src)
    tool = load_tool('tools/model_converters/qsd2mmqsd.py')
    assert tool.main([str(src), str(dst), '--config', str(config)]) == 1  # needs --trusted
    assert not dst.exists()
    assert tool.main([str(src), str(dst), '--config', str(config), '--trusted']) == 0
    checkpoint = torch.load(dst, weights_only=True)
    assert set(checkpoint) == {'state_dict', 'meta'}
    assert checkpoint['meta']['converter'] == 'qsd2mmqsd' and not checkpoint['meta']['unused_keys']
    assert len(checkpoint['meta']['discarded_keys']) > 0
    assert [p.name for p in dst.parent.iterdir()] == ['mmqsd.pth']  # no temporary left
    # a missing key: refused unless --allow-incomplete, which records it in meta
    torch.save(dict(model={k: v for k, v in source.items() if k != 'head.bias'}), src)
    with pytest.raises(ValueError, match='MISSING.*head.fc.bias'):
        convert_checkpoint(str(src), str(dst), convert_qsd_state_dict, str(config))
    convert_checkpoint(str(src), str(dst), convert_qsd_state_dict, str(config),
                       allow_incomplete=True)
    assert torch.load(dst, weights_only=True)['meta']['missing_keys'] == ['head.fc.bias']
