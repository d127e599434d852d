"""ONNX export of the exact integer form (issue 16): integer operators on spike counts,
exact int32 sums, verification in ONNX Runtime for a tiny model of every task."""
import os.path as osp

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip('onnxruntime', reason='ONNX deployment needs: pip install -e .[deploy]')
import onnx  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

from mmqsd.apis import init_model  # noqa: E402
from mmqsd.deploy import (Int8Synapse, SpikeCounts, randomize_statistics,  # noqa: E402
                          to_integer_inference)
from mmqsd.deploy.onnx_export import (ExportError, OnnxInt8Synapse,  # noqa: E402
                                      audit_integer_graph, export_onnx, op_counts)
from mmqsd.deploy.onnx_runtime import OnnxModel, verify_onnx  # noqa: E402
from mmqsd.layers import QuantConv1d, QuantConv2d, QuantLinear  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_QSD = {'model.backbone.arch': dict(embed_dims=[8, 16, 32, 32], num_heads=2, mlp_ratio=4,
                                        depths=(1, 1)),
            'model.head.in_channels': 32}
TINY_SPIKFORMER = {'model.backbone.arch': dict(_delete_=True, embed_dims=32, depth=1, num_heads=4,
                                               mlp_ratio=4),
                   'model.head.in_channels': 32}
SPIKFORMER = 'configs/cls/ablations/spikformer/spikformer-8-384_{}_8xb196-lamb-300e_in1k.py'
#: config, cfg_options, input size: a tiny model of every exported task
TASKS = dict(
    classifier=('configs/cls/qsd_t_demo_digits.py', TINY_QSD, 32),
    spikformer=(SPIKFORMER.format('ielif-w4'), TINY_SPIKFORMER, 32),
    spikformer_lif=(SPIKFORMER.format('lif-t4-w4'), TINY_SPIKFORMER, 32),  # binary LIF, T=4
    segmentor=('configs/seg/qsd_t_fpn_demo.py', None, 64),
    detector=('configs/det/qsd_t_maskrcnn_demo.py', None, 64),
)


def tiny_model(task, seed=1):
    config, options, size = TASKS[task]
    torch.manual_seed(0)
    model = init_model(osp.join(ROOT, config), cfg_options=options)
    return randomize_statistics(model, seed=seed), size


class CountsInput(nn.Module):
    """uint8 counts worth ``scale`` each -> an export-form synapse."""

    def __init__(self, synapse, scale):
        super().__init__()
        self.synapse, self.scale = synapse, scale

    def forward(self, counts):
        return self.synapse(SpikeCounts(counts, self.scale))


def run_ort(module, example, path):
    torch.onnx.export(module, (example, ), path, dynamo=False, opset_version=17,
                      input_names=['inputs'])
    graph = onnx.load(path)
    graph.ir_version = 8
    onnx.save(graph, path)
    return OnnxModel(path)(example.numpy())[0]


@pytest.mark.parametrize('layer,shape', [
    (lambda: QuantConv2d(6, 5, 3, padding=1, stride=2, weight_bits=4), (2, 6, 7, 7)),
    (lambda: QuantConv2d(6, 6, 7, padding=3, groups=6, weight_bits=3), (2, 6, 7, 7)),
    (lambda: QuantConv2d(6, 5, 1, weight_bits=8), (2, 6, 5, 5)),
    (lambda: QuantConv1d(6, 5, 1, weight_bits=2), (2, 6, 10)),
    (lambda: QuantLinear(6, 5, weight_bits=8), (2, 3, 6)),
])
def test_integer_operators_reproduce_the_int32_sums(layer, shape, tmp_path):
    """ConvInteger / MatMulInteger in ONNX Runtime give the exact sums of n * Q(w): with
    scale 1 and no bias the output is the int32 sum itself (8-bit weights included, where
    a float16 or wrapped int8 route would fail)."""
    synapse = Int8Synapse(layer().eval())
    synapse.scale.fill_(1.0)
    synapse.bias.zero_()
    counts = torch.randint(0, 128, shape, dtype=torch.uint8, generator=torch.Generator()
                           .manual_seed(len(shape)))
    out = run_ort(CountsInput(OnnxInt8Synapse(synapse, 'layer'), 1.0), counts,
                  str(tmp_path / 'layer.onnx'))
    weight = synapse.weight.double()
    x = counts.double()
    if synapse.kind == 'linear':
        expected = x @ weight.t()
    elif synapse.kind == 'conv1d':
        expected = torch.conv1d(x, weight, None, synapse.stride, synapse.padding)
    else:
        expected = torch.conv2d(x, weight, None, synapse.stride, synapse.padding, 1,
                                synapse.groups)
    assert np.array_equal(out.astype(np.float64), expected.numpy())


def test_fused_neuron_synapse_matches_pytorch_counts(tmp_path):
    """A synapse with its IE-LIF in the epilogue emits the same uint8 counts in ONNX."""
    layer = QuantConv2d(8, 8, 1, weight_bits=4).eval()
    synapse = Int8Synapse(layer).eval()
    synapse.scale.mul_(8)  # potentials across the neuron's range: counts 0..4
    synapse.bias.fill_(1.0)
    synapse.fuse_neuron(4, 1.3, 4.0)
    counts = torch.randint(0, 5, (2, 8, 6, 6), dtype=torch.uint8)
    expected = synapse(SpikeCounts(counts, 0.25)).values
    out = run_ort(CountsInput(OnnxInt8Synapse(synapse, 'layer'), 0.25), counts,
                  str(tmp_path / 'fused.onnx'))
    assert out.dtype == np.uint8 and len(np.unique(out)) >= 3
    assert np.array_equal(out, expected.numpy())


def _count_fed_synapses(integer, x):
    """Int8Synapses whose input is spike counts, in a PyTorch forward of the integer form."""
    fed = []
    hooks = [m.register_forward_pre_hook(lambda mod, args: fed.append(
        isinstance(args[0], SpikeCounts))) for m in integer.modules()
        if isinstance(m, Int8Synapse)]
    with torch.no_grad():
        integer(x, mode='tensor')
    for hook in hooks:
        hook.remove()
    return sum(fed), len(fed) - sum(fed)


@pytest.mark.parametrize('task', list(TASKS))
def test_tiny_model_of_every_task_exports_and_verifies(task, tmp_path):
    model, size = tiny_model(task)
    path = str(tmp_path / f'{task}.onnx')
    info = export_onnx(model, path, 'integer', (2, 3, size, size))
    report = verify_onnx(model, path, dict(random=torch.randn(3, 3, size, size) * 2))
    assert report['max_rel_err'] < 1e-4 and report['max_rel_err_fp32'] < 1e-4
    assert max(report['spike_counts']) >= 1 + (task != 'spikformer_lif')  # several levels
    assert report['same_top1'] is (None if task == 'detector' else True)
    counts = op_counts(path)
    assert info['num_integer_ops'] >= counts['ConvInteger'] > 0
    assert audit_integer_graph(onnx.load(path)) == info['num_integer_ops']
    if task == 'classifier':  # every synapse on counts became an integer operator
        on_counts, on_reals = _count_fed_synapses(to_integer_inference(model),
                                                  torch.randn(1, 3, size, size))
        attention_products = 2 * counts['MatMul']  # k^T v (MatMulInteger) and q (k^T v)
        assert counts['ConvInteger'] + counts['MatMulInteger'] + counts['MatMul'] \
            == on_counts + attention_products
        assert counts['Conv'] == on_reals  # the stem and the convs on BN outputs stay float


def test_float_form_matches_fp32_model(tmp_path):
    model, size = tiny_model('classifier')
    path = str(tmp_path / 'float.onnx')
    info = export_onnx(model, path, 'float', (1, 3, size, size))
    assert info['num_integer_ops'] == 0
    report = verify_onnx(model, path, dict(random=torch.randn(2, 3, size, size)))
    assert report['max_rel_err'] < 1e-4 and report['same_top1']


def test_audit_rejects_float_product_on_counts():
    """A float Conv fed (through a Cast and a reshape) by uint8 counts is refused."""
    nodes = [helper.make_node('Cast', ['counts'], ['c'], to=TensorProto.FLOAT),
             helper.make_node('Identity', ['c'], ['c2']),
             helper.make_node('Conv', ['c2', 'w'], ['y'], name='backbone.fc')]
    graph = helper.make_graph(
        nodes, 'g', [helper.make_tensor_value_info('counts', TensorProto.UINT8, [1, 2, 3, 3])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)],
        [helper.make_tensor('w', TensorProto.FLOAT, [2, 2, 1, 1], [1.0] * 4)])
    with pytest.raises(ExportError, match=r'backbone\.fc \(Conv\) is a float product on spike'):
        audit_integer_graph(helper.make_model(graph))


def test_full_precision_layer_on_counts_is_an_error_naming_it(tmp_path):
    options = dict(TINY_QSD, **{'model.head.weight_bits': None})
    model = init_model(osp.join(ROOT, TASKS['classifier'][0]), cfg_options=options)
    with pytest.raises(ExportError, match=r'head\.fc: a full-precision layer'):
        export_onnx(model, str(tmp_path / 'x.onnx'), 'integer', (1, 3, 32, 32))


def test_levels_beyond_uint8_is_an_error_naming_the_neuron(tmp_path):
    options = dict(TINY_QSD, **{'model.backbone.levels': 200})
    model = init_model(osp.join(ROOT, TASKS['classifier'][0]), cfg_options=options)
    with pytest.raises(ExportError, match=r'200 levels emits int32 counts'):
        export_onnx(model, str(tmp_path / 'x.onnx'), 'integer', (1, 3, 32, 32))
