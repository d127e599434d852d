"""Deploy by substitution (issue 15): deployed modules are their own classes, hold their
state in buffers, save and load weights-only, and every tool can trace the training form."""
import ast
import pathlib

import pytest
import torch

from mmqsd.analysis import count_energy
from mmqsd.apis import init_model
from mmqsd.apis.inference import load_config
from mmqsd.deploy import (FORMS, Int8Synapse, load_deployed, randomize_statistics,
                          save_deployed, spiking_neurons, to_integer_inference, to_spike_driven)
from mmqsd.layers import IELIF, LIF, LSQWeightMixin, SpikingNeuron

ROOT = pathlib.Path(__file__).parents[2]
DEMO_CLS = 'configs/cls/qsd_t_demo_digits.py'
SPIKFORMER = 'configs/cls/ablations/spikformer/spikformer-8-384_ielif-w4_8xb196-lamb-300e_in1k.py'
TINY_SPIKFORMER = {
    'model.backbone.arch': dict(_delete_=True, embed_dims=32, depth=2, num_heads=2, mlp_ratio=2),
    'model.head.in_channels': 32, 'model.head.num_classes': 5}


@pytest.mark.parametrize('form', ['integer', 'spike-integer'])
def test_saved_deployed_qsd_t_loads_weights_only_into_a_fresh_structure(tmp_path, form):
    model = randomize_statistics(init_model(DEMO_CLS), seed=3)
    deployed = to_integer_inference(model, spike_driven=form == 'spike-integer')
    path = str(tmp_path / 'deployed.pth')
    save_deployed(deployed, path, form)
    torch.load(path, weights_only=True)  # plain tensors and Python values only
    fresh = load_deployed(load_config(DEMO_CLS), path, form)  # built from the config, untrained
    assert not any(isinstance(m, (LSQWeightMixin, IELIF, LIF)) for m in fresh.modules())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(fresh(x, mode='tensor'), deployed(x, mode='tensor'))
    with pytest.raises(ValueError, match="holds the"):
        load_deployed(load_config(DEMO_CLS), path, 'spike' if form == 'integer' else 'integer')


def test_deployed_state_dict_says_what_it_holds():
    deployed = to_integer_inference(init_model(DEMO_CLS))
    state = deployed.state_dict()
    conv = 'backbone.stages.0.1.sepconv.pwconv1'
    assert state[conv + '.weight'].dtype == torch.int8
    assert state[conv + '.scale'].dtype == torch.float32 and conv + '.bias' in state
    assert {conv + '.neuron_levels', conv + '.neuron_gain', conv + '.neuron_norm'} <= set(state)
    assert not any(k.endswith(('step_size', 'step_initialized')) for k in state)
    synapses = [m for m in deployed.modules() if isinstance(m, Int8Synapse)]
    assert synapses and all(not list(m.parameters(recurse=False)) for m in synapses)


def test_deployed_neurons_emit_binary_tensors_that_hooks_read():
    model = randomize_statistics(init_model(DEMO_CLS), seed=1)
    for form, dtype in (('spike', torch.float32), ('spike-integer', torch.uint8)):
        spiking = to_spike_driven(model, integer=form == 'spike-integer')
        seen = []
        handles = [m.register_forward_hook(lambda m, i, o: seen.append(o))
                   for _, m in spiking_neurons(spiking)]
        with torch.no_grad():
            spiking(torch.randn(1, 3, 32, 32), mode='tensor')
        for handle in handles:
            handle.remove()
        assert seen and all(isinstance(o, torch.Tensor) and o.dtype == dtype for o in seen)
        assert set(torch.cat([o.flatten().float() for o in seen]).unique().tolist()) == {0., 1.}
        levels = {o.shape[0] for o in seen}  # the virtual-step axis comes first
        assert levels == {4}


def test_conversions_leave_the_training_model_untouched():
    model = init_model(DEMO_CLS)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for form in FORMS:
        to_integer_inference(model) if form == 'integer' else to_spike_driven(
            model, integer=form == 'spike-integer')
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in after)
    assert all(type(m) in (IELIF, LIF) for _, m in spiking_neurons(model))


def test_mmengine_complexity_counter_sees_every_mac():
    """mmengine's (fvcore-style, jit-traced) counter used to fail on the lazy LSQ step and
    to miss the 1x1 convs that called aten::mkldnn_convolution directly."""
    from mmengine.analysis import FlopAnalyzer, get_model_complexity_info
    model = init_model(DEMO_CLS)  # never run before: the LSQ steps are fresh
    x = torch.randn(1, 3, 32, 32)
    info = get_model_complexity_info(model, inputs=(x, ), show_table=False, show_arch=False)
    ours = count_energy(model.backbone, x)['total_flops']
    by_op = FlopAnalyzer(model.backbone, (x, )).by_operator()
    # mmengine also counts BN as one op per element; every MAC is the same as mmqsd's
    assert by_op['conv'] + by_op['matmul'] == ours
    assert info['flops'] == by_op['conv'] + by_op['matmul'] + by_op['batch_norm'] \
        + model.head.fc.weight.numel()


def test_spikformer_energy_has_attention_product_rows():
    """The Spikformer variant's attention is a SpikeProductAttention: its products are counted."""
    model = init_model(SPIKFORMER, cfg_options=TINY_SPIKFORMER)
    result = count_energy(model.backbone, torch.randn(1, 3, 32, 32))
    for block in range(2):
        for product in ('k_t@v', 'q@kv'):
            row = result['layers'][f'blocks.{block}.attn.{product}']
            assert row['flops'] > 0 and row['spike_input']


def _imports(path: pathlib.Path):
    """Modules (dotted, absolute) a file imports at module level."""
    package = '.'.join(path.relative_to(ROOT).with_suffix('').parts)
    if path.name == '__init__.py':
        package = package.rsplit('.', 1)[0] + '.__init__'
    base = package.split('.')[:-1]
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            parts = base[:len(base) - node.level + 1] if node.level else []
            module = '.'.join(parts + ([node.module] if node.module else []))
            yield module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_models_import_only_downward_and_deploy_forms_do_not_import_each_other():
    tasks = {p.name for p in (ROOT / 'mmqsd/models').iterdir() if p.is_dir()}
    for path in (ROOT / 'mmqsd/models').rglob('*.py'):
        own = path.relative_to(ROOT / 'mmqsd/models').parts[0]
        for module in _imports(path):
            parts = module.split('.')
            if parts[:2] == ['mmqsd', 'models'] and len(parts) > 2 and parts[2] in tasks:
                assert parts[2] == own or path.name == '__init__.py', (path, module)
            assert parts[:2] != ['mmqsd', 'deploy'] and parts[:2] != ['mmqsd', 'analysis'], \
                (path, module)
    for name, other in (('spike_driven', 'integer_inference'), ('integer_inference',
                                                                'spike_driven')):
        imported = set(_imports(ROOT / f'mmqsd/deploy/{name}.py'))
        assert f'mmqsd.deploy.{other}' not in imported


def test_no_import_cycle_between_mmqsd_modules():
    graph = {}
    for path in (ROOT / 'mmqsd').rglob('*.py'):
        name = '.'.join(path.relative_to(ROOT).with_suffix('').parts)
        graph[name] = {m for m in _imports(path) if m.startswith('mmqsd')}
    modules = set(graph)

    def resolve(module):
        return module if module in modules else f'{module}.__init__'

    state = {}

    def visit(node, stack):
        state[node] = 'open'
        for target in map(resolve, graph.get(node, ())):
            if target == node or target not in graph:
                continue
            if state.get(target) == 'open':
                raise AssertionError(' -> '.join(stack + [node, target]))
            if target not in state:
                visit(target, stack + [node])
        state[node] = 'done'

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_layers_hold_no_deployment_flag():
    for path in (ROOT / 'mmqsd/layers').glob('*.py'):
        text = path.read_text()
        for flag in ('spike_driven', 'integer_counts', 'frozen'):
            assert flag not in text, f'{path.name} mentions {flag}'


def test_one_neuron_base_class():
    assert issubclass(IELIF, SpikingNeuron) and issubclass(LIF, SpikingNeuron)


def test_integer_detector_predicts_like_the_float_detector():
    """The integer form runs in channels-last memory; the features it hands mmdet's heads
    must be contiguous again (mmcv's CPU RoIAlign reads any input as contiguous NCHW)."""
    from mmdet.structures import DetDataSample
    root = pathlib.Path(__file__).resolve().parents[2]
    torch.manual_seed(0)
    model = randomize_statistics(init_model(str(root / 'configs/det/qsd_t_maskrcnn_demo.py')),
                                 seed=1).eval()
    x = torch.randn(1, 3, 64, 64)
    meta = dict(img_shape=(64, 64), ori_shape=(64, 64), scale_factor=(1.0, 1.0))
    with torch.no_grad():
        (reference, ) = model.predict(x, [DetDataSample(metainfo=meta)])
        (integer, ) = to_integer_inference(model).predict(x, [DetDataSample(metainfo=meta)])
    assert len(reference.pred_instances.scores) > 0
    assert torch.allclose(integer.pred_instances.scores, reference.pred_instances.scores,
                          atol=1e-5)
    assert torch.allclose(integer.pred_instances.bboxes, reference.pred_instances.bboxes,
                          atol=1e-3)
