"""Data-parallel training is exact: 2 processes x batch B == 1 process x batch 2B.

mmengine's DDP (gloo, CPU) through ``tools/dist_train.sh`` must give the same loss curve
and the same final weights as one plain ``tools/train.py`` process with twice the batch.
That holds in exact arithmetic when:

* both runs see the same images per iteration: same seed, and mmengine's
  ``DefaultSampler`` gives rank ``r`` the indices ``perm[r::world_size]`` of one
  seed-determined permutation, so iteration ``i`` of the two ranks (batch B each)
  covers ``perm[2iB:2(i+1)B]``, the batch of iteration ``i`` of the single process;
* the loss is a batch mean and DDP averages gradients over ranks, so the mean of the
  two half-batch gradients is the full-batch gradient;
* nothing depends on how the batch is split: no random augmentation (the test
  pipeline is used for training), no drop path, no batch augments (mixup/cutmix), and
  ``model.backbone.norm_eval=True``: BN and MPRF normalise with fixed running statistics
  instead of per-process batch statistics, as when fine-tuning with frozen BN.  The
  statistics are those of the 32 training images (one forward pass in training mode,
  :func:`_calibrated_checkpoint`), loaded by both runs with ``load_from``: with the
  initial ``N(0, 1)`` estimates the tiny model's spikes die out and its output would not
  depend on the input at all.  (SyncBN, the other way to make batch statistics global,
  needs GPUs: torch's ``SyncBatchNorm`` raises on CPU, and the pre-flight refuses it,
  tests/test_utils/test_launch.py.)
* every rank starts from the same weights and LSQ steps: the checkpoint holds no
  ``step_size``, so each rank derives the weight steps from the loaded weights (QSD
  Eq. 4-5, LSQ's initial value).  Equal final weights on both ranks show that they
  agree: a parameter that started differently would stay different, since both ranks
  apply the same averaged gradient.  The one data-dependent initialisation, CSDformer's
  activation step (:class:`~mmqsd.layers.LSQActQuant`, not part of QSD), averages over
  the ranks: the recorder hook initialises one from each rank's half of a fixed batch,
  and the test requires the step of the whole batch on both ranks.

What remains is float summation order (1e-7 relative per step), hence the tolerance.
If gradients were not all-reduced, each rank would follow its own half-batch: the
ranks' weights would diverge and the loss curve would leave the single-process one
from the second iteration on (checked once with a DDP wrapper whose ``train_step`` ran
under ``no_sync()``: mean loss 0.3-5 % off from iteration 2, weights 1e-2 apart).
"""
import os
import os.path as osp
import socket

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from dist_recorder import act_quant_batch
from mmqsd.layers import MPRF
from mmqsd.ops import lsq_act_init_step

pytestmark = pytest.mark.slow

HERE = osp.dirname(osp.abspath(__file__))
IMAGES = 32

# 32 digits, 2 epochs of 4 iterations; 8 images per iteration in all (1 x 8 or 2 x 4).
CONFIG = """
_base_ = [{base!r}]
custom_imports = dict(imports=['mmqsd', 'dist_recorder'], allow_failed_imports=False)
custom_hooks = [dict(type='RankRecorderHook')]
model = dict(
    backbone=dict(arch=dict(embed_dims=[8, 16, 32, 32], num_heads=2, depths=(1, 1)),
                  norm_eval=True, drop_path_rate=0.),
    head=dict(in_channels=32))
train_dataloader = dict(
    batch_size={batch}, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={root!r}, indices={images},
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
val_dataloader = val_evaluator = val_cfg = None
test_dataloader = test_evaluator = test_cfg = None
train_cfg = dict(max_epochs=2, val_interval=100)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=100, save_last=False))
randomness = dict(seed=1, diff_rank_seed=False)
load_from = {load_from!r}
"""
ITERATIONS = 8
GLOO = ('--cfg-options', 'env_cfg.dist_cfg.backend=gloo')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def _config(tmp_path, base, digits_root, batch, load_from=None):
    path = tmp_path / f'batch{batch}.py'
    path.write_text(CONFIG.format(base=base, root=digits_root, batch=batch, images=IMAGES,
                                  load_from=load_from))
    return str(path)


@torch.no_grad()
def _calibrated_checkpoint(config, path):
    """Save the config's model with BN/MPRF running statistics of all training images,
    and without the LSQ weight steps (each run derives them from the weights)."""
    cfg = Config.fromfile(config)
    cfg.model.backbone.norm_eval = False
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    norms = [m for m in model.modules() if isinstance(m, (_BatchNorm, MPRF))]
    for norm in norms:
        norm.momentum = 1.0  # running statistics := this batch's
    loader = Runner.build_dataloader(dict(cfg.train_dataloader, batch_size=IMAGES))
    data = model.data_preprocessor(next(iter(loader)), True)
    model(data['inputs'], mode='tensor')
    state = {k: v for k, v in model.state_dict().items() if 'step_' not in k}
    torch.save(dict(state_dict=state), path)
    return str(path)


def _env(**extra):
    path = os.pathsep.join(p for p in (HERE, os.environ.get('PYTHONPATH')) if p)
    return dict(PYTHONPATH=path, OMP_NUM_THREADS='1', **extra)


def _load(work_dir, rank):
    return torch.load(osp.join(work_dir, f'rank{rank}.pth'), weights_only=True)


def test_two_processes_match_one_with_twice_the_batch(demo_config, digits_root, tmp_path,
                                                     run_tool):
    ckpt = _calibrated_checkpoint(_config(tmp_path, demo_config, digits_root, IMAGES),
                                  tmp_path / 'calibrated.pth')
    one, two = tmp_path / 'one', tmp_path / 'two'
    run_tool('tools/train.py', _config(tmp_path, demo_config, digits_root, 8, ckpt),
             '--work-dir', str(one), env=_env())
    run_tool('tools/dist_train.sh', _config(tmp_path, demo_config, digits_root, 4, ckpt), '2',
             '--work-dir', str(two), *GLOO, env=_env(PORT=_free_port()))

    single, rank0, rank1 = _load(one, 0), _load(two, 0), _load(two, 1)
    assert len(single['losses']) == len(rank0['losses']) == len(rank1['losses']) == ITERATIONS
    losses = torch.tensor(single['losses'], dtype=torch.float64)
    mean = (torch.tensor(rank0['losses'], dtype=torch.float64)
            + torch.tensor(rank1['losses'], dtype=torch.float64)) / 2
    # The ranks saw different images ...
    assert not torch.allclose(torch.tensor(rank0['losses']), torch.tensor(rank1['losses']),
                              rtol=1e-3)
    # ... and together the same as the single process, iteration by iteration.
    torch.testing.assert_close(mean, losses, rtol=1e-5, atol=0)

    # Same weights on both ranks (same start, LSQ steps included; same averaged gradients)
    # and the same as the single process.
    assert rank0['state'].keys() == single['state'].keys()
    steps = [k for k in single['state'] if k.endswith('step_size')]
    assert steps and all(bool(rank0['state'][k.replace('step_size', 'step_initialized')])
                         for k in steps)
    for key, value in single['state'].items():
        torch.testing.assert_close(rank1['state'][key], rank0['state'][key], rtol=0, atol=0,
                                   msg=lambda m: f'{key} differs between the ranks: {m}')
        torch.testing.assert_close(rank0['state'][key], value, rtol=1e-5, atol=1e-6,
                                   msg=lambda m: f'{key}: 2 processes vs 1: {m}')

    # LSQActQuant's first-batch step (2 E|x| / sqrt(L)) from half a batch per rank: the
    # average over the ranks, i.e. the step of the whole batch, on both ranks.
    halves = act_quant_batch().chunk(2)
    assert lsq_act_init_step(halves[0], 4) < 0.5 * lsq_act_init_step(halves[1], 4)
    torch.testing.assert_close(rank1['act_quant_step'], rank0['act_quant_step'], rtol=0, atol=0)
    torch.testing.assert_close(rank0['act_quant_step'], single['act_quant_step'], rtol=1e-6,
                               atol=0)
