"""mmengine's ``compile`` option with QSD models: one training iteration and one test
pass through ``Runner.train()`` / ``Runner.test()`` give what eager mode gives.

The Runner tests use ``compile=dict(backend='aot_eager')``: the same TorchDynamo capture
and AOTAutograd forward/backward graphs as ``compile=True``, without inductor's C++ code
generation, which costs minutes per model on a 2-core machine.  The classifier compiles
whole steps (as ``compile=True`` does); the segmentor and detector compile their
backbone, neck (and decode head) (``compile=dict(modules=[...])``) to keep the test
short.  Tolerances: the loss to 1e-5
relative, predictions to 1e-4, the SGD updates to 1e-2 (relative L2; see below).  Inductor
itself is checked on the backbone in float64 (in float32 its reordered sums move a few
activations across a quantisation step: the loss then differs by ~1e-3 relative).
"""
import copy
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch._dynamo
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmqsd.engine.hooks.compile_hook import CompileHook, compile_options, plain_param_groups
from mmqsd.utils.launch import add_compile_hook

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = dict(embed_dims=[8, 16, 32, 32], num_heads=2, mlp_ratio=2, depths=(1, 1))
LR = 0.05


class Samples(Dataset):
    """The given (already packed) samples, in order."""

    def __init__(self, samples):
        self.samples = samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return copy.deepcopy(self.samples[i])


class Recorder(BaseMetric):
    """Keeps every prediction of a test pass (``outputs``; the evaluator hands them over
    as dicts) and reports their count."""

    def __init__(self):
        super().__init__()
        self.outputs = []

    def process(self, data_batch, data_samples):
        self.outputs.extend(data_samples)
        self.results.append(0)

    def compute_metrics(self, results):
        return dict(count=len(self.outputs))


class _KeepInitial(Hook):
    """Stores the parameters right before the first iteration as ``runner.initial_params``."""

    def before_train(self, runner):
        runner.initial_params = {n: p.detach().clone() for n, p in runner.model.named_parameters()}


def _run(model, samples, scope, work_dir, compile_cfg):
    """Train one iteration (batch = all samples) then test once; return the runner,
    the logged loss and the test predictions."""
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    recorder = Recorder()
    loader = dict(dataset=Samples(samples), batch_size=len(samples), num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False))
    hooks = Config(dict(compile=compile_cfg))
    add_compile_hook(hooks)  # as tools/train.py and tools/test.py do
    # (Runner.from_cfg would print the config, which holds objects here)
    runner = Runner(
        model=model, work_dir=str(work_dir), default_scope=scope,
        # own name: two runners made in one second would share the message hub
        experiment_name=f'{work_dir.parent.name}-{work_dir.name}',
        train_dataloader=loader, train_cfg=dict(by_epoch=False, max_iters=1),
        # paramwise_cfg: groups per parameter, as the shipped configs build them
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=LR, weight_decay=1e-4),
                           paramwise_cfg=dict(norm_decay_mult=0.0)),
        test_dataloader=loader, test_cfg=dict(), test_evaluator=[recorder],
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=hooks.get('custom_hooks'), log_level='WARNING',
        randomness=dict(seed=0), cfg=dict(compile=hooks.compile))
    runner.register_hook(_KeepInitial(), 'LOWEST')
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    runner.test()
    return runner, loss, runner.test_evaluator.metrics[0].outputs


def _check_against_eager(model, samples, scope, tmp_path, compile_cfg, same_outputs):
    eager, eager_loss, eager_out = _run(model, samples, scope, tmp_path / 'eager', False)
    initial = eager.initial_params
    runner, loss, out = _run(model, samples, scope, tmp_path / 'compiled', compile_cfg)
    stats = torch._dynamo.utils.counters['stats']
    # compilation really happened (a silently skipped compile would leave the bound
    # methods / plain modules) and TorchDynamo captured graphs
    modules = compile_cfg.get('modules') if isinstance(compile_cfg, dict) else None
    if modules is None:  # whole steps: TorchDynamo-wrapped functions
        for step in ('train_step', 'test_step'):
            assert hasattr(getattr(runner.model, step), '_torchdynamo_orig_callable'), step
    else:
        for name in modules:
            assert runner.model.get_submodule(name)._compiled_call_impl is not None, name
        assert not hasattr(runner.model.train_step, '_torchdynamo_orig_callable')
    assert stats['unique_graphs'] >= 2, dict(stats)
    assert loss == pytest.approx(eager_loss, rel=1e-5)
    # the SGD updates (lr x gradient), whole model, relative L2 error (measured 2e-4
    # classifier, 6e-4 detector, 7e-3 segmentor with whole steps): not rounding-level;
    # rounding-level forward changes move these gradients by ~1e-2 in eager mode too
    # (docs/benchmarks.md, "torch.compile")
    trained = dict(runner.model.named_parameters())
    names = [name for name, _ in eager.model.named_parameters()]
    params = dict(eager.model.named_parameters())
    update = torch.cat([(params[n] - initial[n]).flatten() for n in names])
    error = torch.cat([(trained[n] - params[n]).flatten() for n in names])
    worst = max(((trained[n] - params[n]).abs().max().item(), n) for n in names)
    assert error.norm() <= 1e-2 * update.norm(), (error.norm(), update.norm(), worst)
    assert len(out) == len(eager_out) == len(samples)
    for got, want in zip(out, eager_out):
        same_outputs(got, want)


def _close(got, want):
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def _demo_model(config, **model):
    """The model of a demo config with the tiny backbone (and ``model`` merged in)."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    cfg.merge_from_dict(dict(model=dict(backbone=dict(arch=TINY, init_cfg=None), **model)))
    cfg.model.backbone.arch = TINY  # replace, not merge
    return cfg.model


def test_classifier_compile_matches_eager(tmp_path):
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(0)
    samples = [dict(inputs=torch.randint(0, 256, (3, 32, 32), generator=gen, dtype=torch.uint8),
                    data_samples=DataSample().set_gt_label(i % 10)) for i in range(4)]
    model = _demo_model('cls/qsd_t_demo_digits.py', head=dict(in_channels=TINY['embed_dims'][-1]))

    def same(got, want):
        _close(got['pred_score'], want['pred_score'])
        assert torch.equal(got['pred_label'], want['pred_label'])

    _check_against_eager(model, samples, 'mmpretrain', tmp_path, dict(backend='aot_eager'),
                         same)


@pytest.mark.slow
def test_inductor_backbone_matches_eager_in_float64():
    """compile=True's back end (inductor, C++ code generated for this CPU) on the QSD
    backbone, forward and backward (IE-LIF and LSQ autograd Functions).  In float64, so
    that no activation lands on the other side of a quantisation step by rounding."""
    from mmqsd.models.backbones import QSDTransformer
    torch.manual_seed(0)
    eager = QSDTransformer(arch=TINY).double().train()
    compiled = copy.deepcopy(eager)
    compiled.compile()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    outs = [m(x)[-1] for m in (eager, compiled)]
    assert torch._dynamo.utils.counters['stats']['unique_graphs'] == 1  # no graph break
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-7, atol=1e-7)
    for out in outs:
        out.square().mean().backward()
    # gradients: whole-model relative L2 error, not rounding-level (see
    # _check_against_eager); eager alone, float32, with and without the int8 training
    # synapses (forward 5e-7 apart) also differs by 1e-2
    grads = dict(compiled.named_parameters())
    error = torch.cat([(grads[n].grad - p.grad).flatten() for n, p in eager.named_parameters()])
    norm = torch.cat([p.grad.flatten() for p in eager.parameters()]).norm()
    assert error.norm() <= 5e-2 * norm  # measured 2.4e-2


def test_segmentor_compile_matches_eager(tmp_path):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        labels = torch.randint(0, 5, (1, 64, 64), generator=gen)
        sample = SegDataSample(gt_sem_seg=PixelData(data=labels))
        sample.set_metainfo(dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64)))
        samples.append(dict(inputs=torch.randint(0, 256, (3, 64, 64), generator=gen,
                                                 dtype=torch.uint8), data_samples=sample))
    model = _demo_model('seg/qsd_t_fpn_demo.py', data_preprocessor=dict(size=(64, 64)),
                        neck=dict(in_channels=TINY['embed_dims']))

    def same(got, want):
        _close(got['seg_logits']['data'], want['seg_logits']['data'])

    compile_cfg = dict(modules=['backbone', 'neck', 'decode_head'], backend='aot_eager')
    _check_against_eager(model, samples, 'mmseg', tmp_path, compile_cfg, same)


def test_detector_compile_matches_eager(tmp_path):
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    data = demo_mm_inputs(2, [(3, 64, 64)] * 2, num_items=[2, 3], num_classes=3, with_mask=True)
    samples = [dict(inputs=i, data_samples=s) for i, s in zip(data['inputs'],
                                                              data['data_samples'])]
    model = _demo_model('det/qsd_t_maskrcnn_demo.py', neck=dict(in_channels=TINY['embed_dims']))

    def same(got, want):
        got, want = got['pred_instances'], want['pred_instances']
        _close(got['bboxes'], want['bboxes'])
        _close(got['scores'], want['scores'])
        assert torch.equal(got['masks'], want['masks'])

    compile_cfg = dict(modules=['backbone', 'neck'], backend='aot_eager')
    _check_against_eager(model, samples, 'mmdet', tmp_path, compile_cfg, same)


def test_config_built_param_groups_become_plain_dicts():
    """DefaultOptimWrapperConstructor with paramwise_cfg stores ConfigDict groups; the
    compiled optimizer step needs plain dicts (dynamo: 'UserDefinedDictVariable' object
    has no attribute 'items').  After the fix the compiled step matches eager."""
    torch.manual_seed(0)
    models = [torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))]
    models.append(copy.deepcopy(models[0]))
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=LR, momentum=0.9,
                                                        weight_decay=1e-2),
                                         paramwise_cfg=dict(norm_decay_mult=0.0))))
    wrappers = [build_optim_wrapper(m, cfg.optim_wrapper) for m in models]
    assert {type(g).__name__ for g in wrappers[1].optimizer.param_groups} == {'ConfigDict'}
    groups = wrappers[1].optimizer.param_groups
    before = [dict(g) for g in groups]
    assert plain_param_groups(wrappers[1]) == len(before) == 4
    assert wrappers[1].optimizer.param_groups is groups  # same list, schedulers stay valid
    assert all(type(g) is dict for g in groups) and groups == before
    assert plain_param_groups(wrappers[1]) == 0

    def step(model, wrapper, x):
        loss = model(x).square().mean()
        wrapper.update_params(loss)
        return loss

    torch._dynamo.reset()
    compiled = torch.compile(step, backend='eager')
    x = torch.randn(5, 4)
    for _ in range(2):
        torch.testing.assert_close(compiled(models[1], wrappers[1], x),
                                   step(models[0], wrappers[0], x))
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize('value, expected', [(None, None), (False, None), (True, {}),
                                             (dict(backend='eager'), dict(backend='eager'))])
def test_compile_options(value, expected):
    assert compile_options(value) == expected


def test_compile_options_refuse_other_values():
    with pytest.raises(TypeError, match='compile must be True/False or a dict'):
        compile_options('inductor')


def test_compile_hook_is_added_once():
    cfg = Config(dict(compile=True, custom_hooks=[dict(type='mmqsd.CompileHook')]))
    add_compile_hook(cfg)
    assert [h['type'] for h in cfg.custom_hooks] == ['mmqsd.CompileHook']
    cfg = Config(dict(compile=dict(backend='eager')))
    add_compile_hook(cfg)
    assert [h['type'] for h in cfg.custom_hooks] == ['mmqsd.CompileHook']
    cfg = Config(dict(compile=False))
    add_compile_hook(cfg)
    assert 'custom_hooks' not in cfg


def test_compile_modules_go_to_the_hook_not_to_mmengine():
    cfg = Config(dict(compile=dict(modules=['backbone', 'neck'], backend='eager')))
    add_compile_hook(cfg)
    assert cfg.compile is False  # mmengine must not compile the whole train_step
    assert cfg.custom_hooks == [dict(type='mmqsd.CompileHook', modules=['backbone', 'neck'],
                                     options=dict(backend='eager'))]


@pytest.mark.parametrize('modules', ['backbone', [], [1]])
def test_compile_modules_must_be_names(modules):
    with pytest.raises(TypeError, match='compile.modules must be a non-empty list'):
        add_compile_hook(Config(dict(compile=dict(modules=modules))))


def test_compile_hook_names_a_missing_module():
    runner = SimpleNamespace(model=torch.nn.Sequential(torch.nn.Linear(2, 2)))
    with pytest.raises(ValueError, match=r"no submodule 'backbone'; name direct children "
                       r"such as \['0'\]"):
        CompileHook(modules=['backbone']).before_run(runner)


def test_init_pending_steps_does_the_first_call_init_once():
    """Compiled code skips the LSQ first-call step init; the hook runs it eagerly."""
    from mmqsd.layers.quant import QuantConv2d, init_pending_steps
    from mmqsd.ops import lsq_init_step
    model = torch.nn.Sequential(QuantConv2d(3, 4, 1), QuantConv2d(4, 4, 1))
    with torch.no_grad():
        for conv in model:
            conv.weight.mul_(3)  # as an initialiser re-drawing weights after construction
    assert init_pending_steps(model) == 2
    for conv in model:
        torch.testing.assert_close(conv.step_size.data, lsq_init_step(conv.weight, 4))
        assert bool(conv.step_initialized) and not conv._forward_pre_hooks
    assert init_pending_steps(model) == 0


def _benchmark_tool():
    import importlib.util
    path = osp.join(ROOT, 'tools', 'benchmark', 'benchmark_model.py')
    spec = importlib.util.spec_from_file_location('benchmark_model', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_compile_option():
    """benchmark_model.py: --compile sets compile=True; the config's compile wraps the step
    (or compiles named submodules) and times the first call; other modes are refused."""
    tool = _benchmark_tool()
    assert tool.parse_args(['cfg.py', '--compile']).compile
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    x = torch.randn(3, 2)

    def step():
        return model(x)

    model.cfg = Config(dict(compile=False))
    assert tool._maybe_compile(step, model, 'train') == (step, None)
    model.cfg = Config(dict(compile=dict(backend='eager')))
    torch._dynamo.reset()
    compiled, seconds = tool._maybe_compile(step, model, 'infer')
    assert hasattr(compiled, '_torchdynamo_orig_callable') and seconds > 0
    torch.testing.assert_close(compiled(), step())
    with pytest.raises(SystemExit, match="applies to the modes .* not 'integer'"):
        tool._maybe_compile(step, model, 'integer')
    model.cfg = Config(dict(compile=dict(modules=['0'], backend='eager')))
    same, _ = tool._maybe_compile(step, model, 'train')
    assert same is step and model[0]._compiled_call_impl is not None
