import json
import os.path as osp
import subprocess
import sys

import torch

from mmqsd.analysis import model_size
from mmqsd.layers import QuantConv2d, QuantLinear

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_model_size_counts_mixed_bits_and_excludes_steps():
    model = torch.nn.Sequential(QuantConv2d(2, 4, 3, weight_bits=2, bias=False),
                                torch.nn.BatchNorm2d(4), QuantLinear(4, 8, weight_bits=4))
    size = model_size(model)
    # weights 72 (2 bit) + 32 (4 bit); BN 8; linear bias 8; steps 4 + 8 not counted
    assert size['params'] == 72 + 8 + 32 + 8
    assert size['quantized_weight_params'] == 104
    assert size['params_32bit_equiv'] == round(72 * 2 / 32 + 32 * 4 / 32)
    assert size['params_32bit_equiv_with_fp'] == size['params_32bit_equiv'] + 16
    assert size['weight_bits'] == {2: 72, 4: 32}
    assert size['lsq_step_params'] == 12


def test_model_size_cli_writes_json(tmp_path):
    out = tmp_path / 'size.json'
    subprocess.run([sys.executable, 'tools/analysis/model_size.py', 'configs/cls/qsd_t_in1k.py',
                    '--out-json', str(out), '--cfg-options', 'model.backbone.mprf=False'],
                   cwd=ROOT, check=True, capture_output=True)
    result = json.loads(out.read_text())
    assert result['params'] == 15_116_720
    assert result['params_32bit_equiv'] == 1_876_884
    assert result['weight_bits'] == 4


def test_verify_spike_driven_cli(tmp_path):
    out = tmp_path / 'verify.json'
    subprocess.run([sys.executable, 'tools/deploy/verify_spike_driven.py',
                    'configs/cls/qsd_t_in1k.py', '--input-size', '32', '--out-json', str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    result = json.loads(out.read_text())
    assert result['max_rel_err'] <= 1e-5
    assert result['spike_values'] == [0.0, 1.0]
    assert len(result['multibit_values']) == 5
