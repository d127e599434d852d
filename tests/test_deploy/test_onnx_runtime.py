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
from mmqsd.deploy.onnx_export import export_onnx  # noqa: E402
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
test_pipeline = [dict(type='LoadImageFromFile'),
                 dict(type='Resize', scale=(64, 64), keep_ratio=True),
                 dict(type='LoadAnnotations', reduce_zero_label=True), dict(type='PackSegInputs')]
test_dataloader = """ + LOADER.format(batch=2, root='{root}', extra=', pipeline=test_pipeline') \
    + '\n'


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', 'deploy',
                                                                  name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exported(tmp, make_data, template, base, seed, shape):
    """Data made by ``make_data(root)``, a config from ``template`` on ``base``, and its
    model with randomised statistics exported in integer form at ``shape``."""
    make_data(str(tmp / 'data'))
    config = tmp / 'tiny.py'
    config.write_text(template.format(base=osp.join(ROOT, base), root=str(tmp / 'data')))
    torch.manual_seed(0)
    model = randomize_statistics(init_model(str(config)), seed=seed)
    export_onnx(model, str(tmp / 'model.onnx'), 'integer', shape)
    return model, str(config), str(tmp / 'model.onnx'), str(tmp / 'data')


@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    """A tiny randomised digits classifier exported at 32x32 (batch 8), and its config."""
    return exported(tmp_path_factory.mktemp('digits'), make_digits, DIGITS,
                    'configs/cls/qsd_t_demo_digits.py', 0, (8, 3, 32, 32))


@pytest.fixture(scope='module')
def ade(tmp_path_factory):
    """A randomised demo segmentor exported at 64x64 on 4 generated 64x64 scenes."""
    return exported(tmp_path_factory.mktemp('ade'),
                    lambda root: make_synthetic_ade(root, num_train=1, num_val=4, size=64), ADE,
                    'configs/seg/qsd_t_fpn_demo.py', 3, (1, 3, 64, 64))


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
    import mmcv
    (from_array, ) = ORTInferencer(config, path)(mmcv.imread(images[0]))  # BGR array
    assert np.array_equal(from_array['pred_scores'], results[0]['pred_scores'])
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


def test_foreign_file_input_name_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node('Identity', ['x'], ['y'])], 'g',
                              [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / 'foreign.onnx'))
    with pytest.raises(ValueError, match="input 'x', expected 'inputs'"):
        OnnxModel(str(tmp_path / 'foreign.onnx')).check()


@pytest.mark.parametrize('package', ['onnx', 'onnxruntime'])
def test_missing_onnxruntime_names_the_install_command(package, monkeypatch, digits):
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(ImportError, match=r'pip install -e \.\[deploy\]'):
        require_onnxruntime()
    with pytest.raises(SystemExit, match=r'pip install -e \.\[deploy\]'):
        load_tool('test_onnx').main([digits[1], digits[2]])
    with pytest.raises(ImportError, match=r'pip install -e \.\[deploy\]'):
        export_onnx(digits[0], 'unused.onnx')


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


def test_benchmark_onnx_modes(digits):
    """benchmark_model.py --modes onnx onnx-float: ONNX Runtime in the same process."""
    spec = importlib.util.spec_from_file_location(
        'benchmark_model', osp.join(ROOT, 'tools', 'benchmark', 'benchmark_model.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = digits[1]
    report = module.main([config, '--modes', 'integer', 'onnx', 'onnx-float', '--batch-size',
                          '2', '--input-size', '32', '--warmup', '0', '--repeats', '1',
                          '--threads', '1'])
    for mode in ('integer', 'onnx', 'onnx-float'):
        assert report['results'][config][mode]['median_s'] > 0


def test_mmdet_heads_on_onnx_features_match_the_detector(tmp_path):
    """The recipe of docs/deployment.md: ONNX Runtime backbone + neck features, mmdet's RPN
    and RoI heads in PyTorch give the detector's own predictions."""
    from mmdet.structures import DetDataSample
    torch.manual_seed(0)
    model = randomize_statistics(init_model(osp.join(ROOT, 'configs/det/qsd_t_maskrcnn_demo.py')),
                                 seed=1)
    path = str(tmp_path / 'det.onnx')
    export_onnx(model, path, 'integer', (1, 3, 64, 64))
    x = torch.randn(1, 3, 64, 64)
    meta = dict(img_shape=(64, 64), ori_shape=(64, 64), scale_factor=(1.0, 1.0))
    samples = [DetDataSample(metainfo=meta)]
    feats = [torch.from_numpy(f) for f in OnnxModel(path)(x)]
    with torch.no_grad():
        proposals = model.rpn_head.predict(feats, samples, rescale=False)
        (ours, ) = model.roi_head.predict(feats, proposals, samples, rescale=True)
        (reference, ) = model.predict(x, [DetDataSample(metainfo=meta)])
    assert len(ours.scores) > 0
    assert torch.allclose(ours.scores, reference.pred_instances.scores, atol=1e-5)
    assert torch.allclose(ours.bboxes, reference.pred_instances.bboxes, atol=1e-3)
