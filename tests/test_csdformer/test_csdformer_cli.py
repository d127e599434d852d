"""tools/deploy/csdformer_to_snn.py on a tiny checkpoint trained with tools/train.py."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmqsd.apis import build_model_from_config
from mmqsd.datasets.demo_data import make_digits

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(ROOT, 'configs', 'csdformer', 'csdformer_demo_digits.py')
TOOL = osp.join(ROOT, 'tools', 'deploy', 'csdformer_to_snn.py')

# One epoch of a one-block CSDformer on 64 digits, evaluated on 48.
TINY_CONFIG = """
_base_ = [{base!r}]
model = dict(
    backbone=dict(arch=dict(_delete_=True, depth=1, embed_dims=16, num_heads=2)),
    head=dict(in_channels=16))
loader = dict(batch_size=16, num_workers=0, persistent_workers=False)
train_dataloader = dict(**loader, dataset=dict(data_root={root!r}, indices=64))
val_dataloader = dict(**loader, dataset=dict(data_root={root!r}, indices=48))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
"""


def run(*args):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f'{args} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}'
    return proc.stdout


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'demo_digits')
    make_digits(root)
    path = tmp_path_factory.mktemp('configs') / 'csdformer_tiny_digits.py'
    path.write_text(TINY_CONFIG.format(base=DEMO_CONFIG, root=root))
    return str(path)


@pytest.mark.slow
def test_cli_converts_and_evaluates_both_forms(tiny_config, tmp_path):
    work_dir = str(tmp_path / 'work')
    run('tools/train.py', tiny_config, '--work-dir', work_dir)
    out_json = str(tmp_path / 'snn.json')
    stdout = run(TOOL, tiny_config, osp.join(work_dir, 'epoch_1.pth'), '--delay', '0', '3',
                 '--dtype', 'float64', '--out-json', out_json)
    assert 'QANN top-1' in stdout and 'total time steps T + D = 7' in stdout
    with open(out_json) as f:
        result = json.load(f)
    assert result['num_samples'] == 48 and result['time_steps'] == 4
    plain_if, dif = result['snn']
    assert (plain_if['delay'], dif['delay']) == (0, 3)
    assert dif['total_time_steps'] == 7
    assert dif['top1'] == result['qann_top1'] and dif['agreement'] == 100.0
    assert dif['max_abs_logit_diff'] < 1e-9
    assert plain_if['max_abs_logit_diff'] > 1e-3
    assert result['spike_values'] == [0.0, 1.0]


def test_cli_refuses_a_float_model_and_names_the_fix(tiny_config, tmp_path):
    sys.path.insert(0, osp.dirname(TOOL))
    try:
        import csdformer_to_snn
    finally:
        sys.path.remove(osp.dirname(TOOL))
    options = {'model.backbone.quantized': False}
    checkpoint = str(tmp_path / 'float.pth')
    torch.save({'state_dict': build_model_from_config(tiny_config, options).state_dict()},
               checkpoint)
    with pytest.raises(ValueError, match='quantized=True'):
        csdformer_to_snn.main([tiny_config, checkpoint, '--cfg-options',
                               'model.backbone.quantized=False'])
