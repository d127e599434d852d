"""Running exported files (issue 16): ORTInferencer, test-set metrics equal to the PyTorch
integer form's, the command-line tools, and the errors for mismatched files."""
import glob
import importlib.util
import os.path as osp
import re
import sys

import numpy as np
import pytest
import torch

pytest.importorskip('onnxruntime', reason='ONNX deployment needs: pip install -e .[deploy]')

from mmqsd.apis import init_model  # noqa: E402
from mmqsd.datasets import make_synthetic_ade  # noqa: E402
from mmqsd.datasets.demo_data import make_digits  # noqa: E402
from mmqsd.deploy import randomize_statistics, to_integer_inference  # noqa: E402
from mmqsd.deploy.onnx_export import export_model  # noqa: E402
from mmqsd.deploy.onnx_inferencer import ORTInferencer, evaluate_test_set  # noqa: E402
from mmqsd.deploy.onnx_runtime import OnnxModel, require_onnxruntime  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LOADER = "dict(batch_size={batch}, num_workers=0, persistent_workers=False, sampler=dict(" \
    "type='DefaultSampler', shuffle=False), dataset=dict(data_root={root!r}{extra}))"
DIGITS = """
_base_ = [{base!r}]
model = dict(backbone=dict(arch=dict(embed_dims=[8, 16, 32, 32], num_heads=2, depths=(1, 1))),
             head=dict(in_channels=32))
test_dataloader = """ + LOADER.format(batch=8, root='{root}', extra=', indices=20') + """
test_evaluator = dict(type='Accuracy', topk=(1, ))
"""
ADE = """
_base_ = [{base!r}]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64), keep_ratio=True),
                 dict(type='LoadAnnotations', reduce_zero_label=True), dict(type='PackSegInputs')]
test_dataloader = """ + LOADER.format(batch=2, root='{root}', extra=', pipeline=test_pipeline') \
    + '\n'


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', 'deploy',
                                                                  name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    """A tiny randomised digits classifier exported at 32x32 (batch 8), and its config."""
    tmp = tmp_path_factory.mktemp('digits')
    make_digits(str(tmp / 'data'))
    config = tmp / 'tiny_digits.py'
    config.write_text(DIGITS.format(base=osp.join(ROOT, 'configs/cls/qsd_t_demo_digits.py'),
                                    root=str(tmp / 'data')))
    torch.manual_seed(0)
    model = randomize_statistics(init_model(str(config)), seed=0)
    export_model(model, str(tmp / 'digits.onnx'), 'integer', (8, 3, 32, 32))
    return model, str(config), str(tmp / 'digits.onnx'), str(tmp / 'data')


@pytest.fixture(scope='module')
def ade(tmp_path_factory):
    """A randomised demo segmentor exported at 64x64 on 4 generated 64x64 scenes."""
    tmp = tmp_path_factory.mktemp('ade')
    make_synthetic_ade(str(tmp / 'data'), num_train=1, num_val=4, size=64)
    config = tmp / 'tiny_ade.py'
    config.write_text(ADE.format(base=osp.join(ROOT, 'configs/seg/qsd_t_fpn_demo.py'),
                                 root=str(tmp / 'data')))
    torch.manual_seed(0)
    model = randomize_statistics(init_model(str(config)), seed=3)
    export_model(model, str(tmp / 'ade.onnx'), 'integer', (1, 3, 64, 64))
    return model, str(config), str(tmp / 'ade.onnx'), str(tmp / 'data')


@pytest.mark.parametrize('task', ['digits', 'ade'])
def test_onnx_reproduces_the_pytorch_integer_metric_and_predictions(task, request):
    model, config, path, _ = request.getfixturevalue(task)
    inferencer = ORTInferencer(config, path)
    integer = to_integer_inference(model)
    predictions = {}

    def recorded(name, predict):
        def run(batch):
            samples = predict(batch)
            predictions.setdefault(name, []).extend(samples)
            return samples
        return run

    with torch.no_grad():
        ours = evaluate_test_set(inferencer.cfg, recorded('onnx', inferencer.predict_batch))
        reference = evaluate_test_set(inferencer.cfg, recorded('torch', integer.test_step))
    assert ours == reference
    for a, b in zip(predictions['onnx'], predictions['torch']):
        if task == 'digits':
            assert int(a.pred_label) == int(b.pred_label)
            assert torch.allclose(a.pred_score, b.pred_score, rtol=1e-4, atol=1e-6)
        else:
            assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
    if task == 'digits':  # the scores depend on the image (an untrained model's labels may not)
        assert torch.stack([s.pred_score for s in predictions['onnx']]).std(0).max() > 1e-4


def test_inferencer_on_image_files(digits, ade):
    model, config, path, root = digits
    images = sorted(glob.glob(osp.join(root, 'val', '*', '*.png')))[:3]
    results = ORTInferencer(config, path)(images)
    assert [sorted(r) for r in results] == [['pred_label', 'pred_score', 'pred_scores']] * 3
    assert all(r['pred_score'] == r['pred_scores'].max() == r['pred_scores'][r['pred_label']]
               for r in results)
    model, config, path, root = ade
    image = sorted(glob.glob(osp.join(root, 'images', 'validation', '*.jpg')))[0]
    (result, ) = ORTInferencer(config, path)(image)
    assert result['predictions'].shape == (64, 64)


def test_file_from_another_config_is_refused(digits, ade):
    _, digits_config, digits_file, _ = digits
    _, ade_config, ade_file, _ = ade
    with pytest.raises(ValueError, match='this config is a segmentor; export the file from it'):
        ORTInferencer(ade_config, digits_file)
    with pytest.raises(ValueError, match='it predicts 10 classes, the config 5'):
        ORTInferencer(digits_config, digits_file, cfg_options={'model.head.num_classes': 5})
    with pytest.raises(ValueError, match=r'feeds images of shape \[3, 64, 64\].*--input-size'):
        OnnxModel(digits_file).check(image_shape=[3, 64, 64])
    with pytest.raises(ValueError, match=r'takes inputs of shape \[8, 3, 32, 32\]'):
        OnnxModel(digits_file)(np.zeros((1, 3, 64, 64), np.float32))


def test_missing_onnxruntime_names_the_install_command(monkeypatch, digits):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    with pytest.raises(ImportError, match=r'pip install -e \.\[deploy\]'):
        require_onnxruntime()
    with pytest.raises(SystemExit, match=r'pip install -e \.\[deploy\]'):
        load_tool('test_onnx').main([digits[1], digits[2]])


def test_command_line_tools(digits, tmp_path, capsys):
    """export_onnx.py with a checkpoint and --verify; test_onnx.py --compare prints the ONNX
    Runtime metric and the PyTorch integer form's, which agree."""
    import json
    model, config, _, _ = digits
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    out = str(tmp_path / 'cli.onnx')
    report = str(tmp_path / 'report.json')
    assert load_tool('export_onnx').main([config, checkpoint, '--out', out, '--input-size', '32',
                                          '--batch-size', '4', '--verify', '--out-json',
                                          report]) == 0
    data = json.load(open(report))
    assert data['passed'] and data['same_top1'] and data['max_rel_err'] < 1e-4
    assert set(data['per_input']) == {'random', 'test_data'}  # the config's test images too
    assert data['num_integer_ops'] > 0 and data['opset'] == 17 and data['onnxruntime']
    capsys.readouterr()
    assert load_tool('test_onnx').main([config, out, '--compare', checkpoint]) == 0
    printed = re.findall(r'^(torch integer )?accuracy/top1: ([\d.]+)$', capsys.readouterr().out,
                         re.M)
    assert [p[0] for p in printed] == ['', 'torch integer '] and printed[0][1] == printed[1][1]


def test_benchmark_onnx_modes(tmp_path):
    """benchmark_model.py --modes onnx onnx-float: ONNX Runtime in the same process."""
    spec = importlib.util.spec_from_file_location(
        'benchmark_model', osp.join(ROOT, 'tools', 'benchmark', 'benchmark_model.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = osp.join(ROOT, 'configs/cls/qsd_t_demo_digits.py')
    report = module.main([config, '--modes', 'integer', 'onnx', 'onnx-float', '--batch-size',
                          '2', '--input-size', '32', '--warmup', '0', '--repeats', '1',
                          '--threads', '1'])
    for mode in ('integer', 'onnx', 'onnx-float'):
        assert report['results'][config][mode]['median_s'] > 0
