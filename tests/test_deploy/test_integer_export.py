"""Integer export + spike-driven reference runner (issue 9)."""
import json

import numpy as np
import pytest
import torch

from mmqsd.apis import build_model_from_config
from mmqsd.deploy import max_relative_error, randomize_statistics
from mmqsd.deploy.integer_export import export_integer, run_exported

TINY = dict(embed_dims=[8, 16, 16, 24], num_heads=2, depths=(1, 1), _delete_=True)


def tiny_classifier(config='configs/cls/qsd_t_in1k.py', **backbone):
    options = {'model.backbone.arch': TINY, 'model.head.in_channels': 24,
               'model.head.num_classes': 7}
    options.update({f'model.backbone.{k}': v for k, v in backbone.items()})
    torch.manual_seed(0)
    model = build_model_from_config(config, options).eval()
    return randomize_statistics(model, seed=1)


@pytest.mark.parametrize('config,time_steps', [('configs/cls/qsd_t_in1k.py', 1),
                                               ('configs/cls/qsd_t_in1k_authors.py', 2)])
def test_runner_reproduces_pytorch(tmp_path, config, time_steps):
    model = tiny_classifier(config, time_steps=time_steps)
    x = torch.randn(6, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 2
    files = export_integer(model, str(tmp_path / 'qsd'))
    with torch.no_grad():
        expected = model(x, mode='tensor')
    logits = run_exported(files['graph'], x)
    assert torch.equal(logits.argmax(1), expected.argmax(1))
    assert max_relative_error(expected.double(), logits) < 1e-4
    assert expected.std() > 0.05


def test_export_format_is_self_describing(tmp_path):
    files = export_integer(tiny_classifier(), str(tmp_path / 'm'))
    graph = json.load(open(files['graph']))
    arrays = np.load(files['arrays'])
    kinds = {layer['type'] for layer in graph['layers']}
    assert kinds == {'conv2d', 'linear', 'ie_lif', 'attention', 'add', 'pad', 'token_mean',
                     'time_mean'}
    for layer in graph['layers']:
        if layer['type'] in ('conv2d', 'linear'):
            w = arrays[layer['weight']]
            assert w.dtype == np.int8 and -8 <= w.min() and w.max() <= 7
            assert arrays[layer['scale']].dtype == np.float32 and layer['bits'] == 4
        if layer['type'] == 'ie_lif':
            assert layer['levels'] == 4
    assert not any('bn' in k.rsplit('.', 1)[0].split('.')[-1] for k in arrays.files
                   if not k.endswith('pad_value'))


def test_unsupported_models_are_refused(tmp_path):
    with pytest.raises(ValueError, match='quantised'):
        export_integer(tiny_classifier(weight_bits=None), str(tmp_path / 'fp'))
    with pytest.raises(ValueError, match='IE-LIF'):
        export_integer(tiny_classifier(neuron='lif'), str(tmp_path / 'lif'))


def test_export_integer_cli(tmp_path):
    """The command line writes both files and checks them against PyTorch."""
    import os.path as osp
    import re
    import subprocess
    import sys
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    prefix = str(tmp_path / 'digits_int')
    proc = subprocess.run([sys.executable, 'tools/deploy/export_integer.py',
                           'configs/cls/qsd_t_demo_digits.py', 'none', prefix, '--check', '2',
                           '--size', '32'], cwd=root, check=True, capture_output=True, text=True)
    assert all(osp.isfile(prefix + ext) for ext in ('.npz', '.json', '.pth'))
    match = re.search(r'top-1 agreement ([\d.]+), max relative logit error ([\d.e+-]+)',
                      proc.stdout)
    assert match, proc.stdout
    assert float(match.group(1)) == 1.0 and float(match.group(2)) < 1e-4
