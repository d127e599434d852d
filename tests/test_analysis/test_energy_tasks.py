"""count_energy over the whole model of every task (classifier, segmentor, detector), over
several batches, with rate x dense ops = SOPs per layer (issue: detectors failed with
"'NoneType' object is not iterable"; per-layer rates came from the first batch only)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmqsd.analysis import count_energy
from mmqsd.analysis.inputs import (AnalysisBatch, analysis_batches, dataset_batches,
                                   model_forward, random_inputs)
from mmqsd.apis import init_model

from test_energy import assert_rate_identity  # same folder (pytest puts it on sys.path)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_DEMO = osp.join(ROOT, 'configs/det/qsd_t_maskrcnn_demo.py')
SEG_DEMO = osp.join(ROOT, 'configs/seg/qsd_t_fpn_demo.py')
# the smallest pyramid the demo heads accept (16-channel first stage, 1 block per stage)
TINY_BACKBONE = {'model.backbone.arch.depths': (1, 1)}


@pytest.fixture(scope='module')
def detector():
    return init_model(DET_DEMO, cfg_options=TINY_BACKBONE)


def test_detector_counts_backbone_neck_and_heads(detector):
    batch = random_inputs(detector, 1, 64, 64)
    result = count_energy(detector, [batch], model_forward)
    parts = result['parts']
    assert list(parts)[:2] == ['backbone', 'neck']
    assert {'rpn_head', 'roi_head'} <= set(parts)
    for spiking in ('backbone', 'neck'):  # (the untrained neck may stay silent: SOPs >= 0)
        assert parts[spiking]['spike_layers'] > 0
    assert parts['backbone']['sops'] > 0
    for head in ('rpn_head', 'roi_head'):  # real-valued ANN heads: dense MACs only
        assert parts[head]['spike_layers'] == 0
        assert parts[head]['macs'] == parts[head]['flops'] > 0 and parts[head]['sops'] == 0
    assert any(n.startswith('roi_head.bbox_head.shared_fcs') for n in result['layers'])
    assert not [n for n in result['not_run'] if not n.startswith('roi_head.mask_head')]
    assert result['energy_mj'] == pytest.approx(sum(p['energy_mj'] for p in parts.values()))
    assert assert_rate_identity(result) > 0


def test_detector_batch_needs_data_samples(detector):
    with pytest.raises(ValueError, match='data samples'):
        model_forward(detector, torch.zeros(1, 3, 64, 64))


@pytest.fixture(scope='module')
def ade_root(tmp_path_factory):
    from mmqsd.datasets import make_synthetic_ade
    root = str(tmp_path_factory.mktemp('data') / 'demo_ade')
    make_synthetic_ade(root, num_train=1, num_val=8, size=32)
    return root


@pytest.fixture(scope='module')
def segmentor(ade_root):
    options = dict(TINY_BACKBONE, **{'val_dataloader.dataset.data_root': ade_root,
                                     'val_dataloader.num_workers': 0,
                                     'val_dataloader.persistent_workers': False})
    return init_model(SEG_DEMO, cfg_options=options)


def test_segmentor_over_two_batches_of_four(segmentor):
    """--data 8 with a validation batch of 4: rates, SOPs, energy all cover the 8 images."""
    model = segmentor
    batches = list(dataset_batches(model, model.cfg, 8, batch_size=4))
    assert [len(b) for b in batches] == [4, 4]
    result = count_energy(model, batches, model_forward)
    assert result['num_images'] == 8
    assert {'backbone', 'neck', 'decode_head'} <= set(result['parts'])
    assert assert_rate_identity(result) > 0
    # every image counts: the mean of the per-batch results, not the first batch's
    halves = [count_energy(model, [b], model_forward) for b in batches]
    for name, row in result['layers'].items():
        assert row['sops'] == pytest.approx(sum(h['layers'][name]['sops'] for h in halves) / 2)
    for name, stats in result['firing_rates'].items():
        assert stats['neuron_steps'] == sum(h['firing_rates'][name]['neuron_steps']
                                            for h in halves)
    first = halves[0]['layers']
    assert any(row['fr'] != pytest.approx(first[n]['fr'])
               for n, row in result['layers'].items() if row['spike_input'])


def test_segmentor_on_random_input(segmentor):
    result = count_energy(segmentor, analysis_batches(segmentor, None, [32]), model_forward)
    assert result['num_images'] == 1
    assert list(result['parts']) == ['backbone', 'neck', 'decode_head']
    assert not [n for n in result['not_run'] if not n.startswith('auxiliary_head')]
    assert assert_rate_identity(result) > 0


def test_detector_on_val_images(tmp_path):
    from mmqsd.datasets.synthetic_coco import make_synthetic_coco
    root = str(tmp_path / 'demo_coco') + '/'
    make_synthetic_coco(root, num_train=1, num_val=3, size=64)
    options = dict(TINY_BACKBONE, **{'val_dataloader.dataset.data_root': root,
                                     'val_dataloader.num_workers': 0,
                                     'val_dataloader.persistent_workers': False})
    model = init_model(DET_DEMO, cfg_options=options)
    result = count_energy(model, dataset_batches(model, model.cfg, 3, batch_size=2),
                          model_forward)
    assert result['num_images'] == 3
    assert {'backbone', 'neck', 'rpn_head', 'roi_head'} <= set(result['parts'])
    assert assert_rate_identity(result) > 0


@pytest.mark.parametrize('shown', [True, False])
def test_data_set_batches_show_progress_only_when_asked(segmentor, monkeypatch, capsys, shown):
    monkeypatch.setenv('MMQSD_PROGRESS', '1' if shown else '0')
    batches = analysis_batches(segmentor, 3, [32], batch_size=2, description='energy')
    assert [len(b) for b in batches] == [2, 1]
    err = capsys.readouterr().err
    if shown:
        assert 'energy: 3 images in batches of 2' in err and '2/2' in err
    else:
        assert err == ''


def test_analysis_batches_random_and_refusals(detector):
    (batch, ) = analysis_batches(detector, None, [48, 64], batch_size=2)
    assert isinstance(batch, AnalysisBatch) and batch.inputs.shape == (2, 3, 48, 64)
    assert batch.data_samples[0].img_shape == (48, 64)
    with pytest.raises(ValueError, match='at least 1 image'):
        next(dataset_batches(detector, detector.cfg, 0))


def _energy_cli(*args):
    return subprocess.run([sys.executable, 'tools/analysis/energy.py', *args], cwd=ROOT,
                          capture_output=True, text=True, check=True,
                          env={**os.environ, 'OMP_NUM_THREADS': '1', 'MMQSD_PROGRESS': '0'})


@pytest.mark.slow
def test_energy_cli_on_a_detector_warns_untrained(tmp_path):
    out = tmp_path / 'energy.json'
    options = ['--cfg-options', 'model.backbone.arch.depths=(1,1)']
    proc = _energy_cli(DET_DEMO, '--input-size', '64', '--out-json', str(out), *options)
    assert 'WARNING: untrained model' in proc.stderr
    assert 'WARNING: untrained model' in proc.stdout
    result = json.loads(out.read_text())
    assert result['warning'].startswith('untrained model')
    assert {'backbone', 'neck', 'rpn_head', 'roi_head'} <= set(result['parts'])
    for head in ('rpn_head', 'roi_head'):
        assert f'{head}' in proc.stdout and result['parts'][head]['spike_layers'] == 0
    assert 'real-valued (float ANN part)' in proc.stdout
    assert 'not counted: element-wise ops' in proc.stdout


@pytest.mark.parametrize('tool', ['tools/analysis/energy.py', 'tools/analysis/attention_dist.py'])
@pytest.mark.parametrize('option', [['--data', '0'], ['--data', '-1'], ['--batch-size', '0']])
def test_image_counts_below_one_are_refused_by_the_parser(tool, option, capsys):
    """``--data 0`` once ran on random input with exit status 0."""
    import runpy
    parse_args = runpy.run_path(osp.join(ROOT, tool), run_name='tool')['parse_args']
    with pytest.raises(SystemExit) as exit_info:
        parse_args(['some_config.py', *option])
    assert exit_info.value.code == 2
    assert 'must be at least 1' in capsys.readouterr().err
