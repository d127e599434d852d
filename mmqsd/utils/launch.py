"""Helpers shared by ``tools/train.py`` and ``tools/test.py``.

They turn command-line arguments into an mmengine config and catch, before
the Runner starts, the set-ups that would otherwise fail deep inside it with
an unhelpful traceback: a missing data set, ``--amp`` or ``sync_bn`` without
a GPU, distributed runs on CPU, and the config faults of
:mod:`mmqsd.utils.config_checks` (docs/troubleshooting.md).

CPU distributed runs: mmengine 0.10.7's ``init_dist`` calls
``torch.cuda.set_device`` unconditionally and the default DDP wrapper passes
``device_ids=[LOCAL_RANK]``, both of which fail without a GPU.  For
``--launcher pytorch`` (torchrun, ``tools/dist_train.sh``) on a machine
without CUDA, :func:`prepare_distributed` initialises the gloo process group
itself (the Runner then skips ``init_dist``) and sets ``device_ids=None``.
"""
import argparse
import datetime
from contextlib import contextmanager
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import MODEL_WRAPPERS, RUNNERS
from mmengine.runner import Runner
from torch.nn.parallel import DistributedDataParallel

from ..datasets.demo_data import GENERATORS
from ..engine.hooks.compile_hook import CompileHook, compile_options
from .checkpoint_file import CheckpointFileError
from .config_checks import ConfigError, MissingFileError, check_config, check_sync_bn

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments both tools take, besides the config (and test's checkpoint)."""
    parser.add_argument('--work-dir', help='folder for logs and checkpoints '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config entries, e.g. train_cfg.max_epochs=2 '
                        "model.backbone.arch.depths='(1,1)'")
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    # torch.distributed.launch passes --local_rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Read ``args.config`` and apply ``--cfg-options``, launcher and work dir."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def _datasets(cfg: dict):
    """Yield a dataset config and the ones it wraps (``dataset``/``datasets`` keys)."""
    yield cfg
    inner = [cfg['dataset']] if 'dataset' in cfg else list(cfg.get('datasets', []))
    for sub in inner:
        yield from _datasets(sub)


def check_data_roots(cfg: Config, loaders=DATALOADERS) -> None:
    """Raise ``FileNotFoundError`` naming any missing ``data_root`` and how to get it."""
    for name in loaders:
        loader = cfg.get(name)
        if not loader:
            continue
        for dataset in _datasets(loader['dataset']):
            root = dataset.get('data_root')
            if not root or osp.isdir(root):
                continue
            folder = osp.basename(osp.normpath(root))
            if folder.startswith('demo_') and folder[len('demo_'):] in GENERATORS:
                kind = folder[len('demo_'):]
                hint = f'generate it with: python tools/misc/make_demo_data.py {kind} --out {root}'
            else:
                hint = (f'put the data set there, or point the config at it with '
                        f'--cfg-options {name}.dataset.data_root=PATH')
            raise MissingFileError(f'{name}: data_root {root!r} does not exist; {hint}')


def enable_amp(cfg: Config) -> None:
    """Switch the optimiser wrapper to mixed precision, or say why it cannot."""
    if not torch.cuda.is_available():
        raise SystemExit(
            'error: --amp needs a CUDA GPU: mmengine\'s AmpOptimWrapper (fp16 with loss '
            'scaling) only runs on GPU/NPU/MLU/MUSA devices and no GPU is visible. '
            'Train on CPU in fp32 by dropping --amp.')
    if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'OptimWrapper':
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def enable_bf16(cfg: Config) -> None:
    """Train with bfloat16 autocast (:class:`~mmqsd.engine.BF16AutocastOptimWrapper`),
    on CPU or GPU.  It changes numerics (see that class); fp32 stays the default."""
    kind = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if kind not in ('OptimWrapper', 'mmqsd.BF16AutocastOptimWrapper'):
        raise SystemExit(f'error: --bf16 replaces the plain OptimWrapper, but the config uses '
                         f'{kind}; drop --amp / the custom wrapper, or use only one of them')
    cfg.optim_wrapper.type = 'mmqsd.BF16AutocastOptimWrapper'


def prepare_distributed(cfg: Config) -> None:
    """Make a distributed launch work on CPU, or fail early with the fix.

    Does nothing for ``--launcher none`` or when CUDA is available (then
    mmengine's own ``init_dist`` and DDP set-up apply unchanged).
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise SystemExit(f'error: --launcher {cfg.launcher} needs GPUs in mmengine 0.10.7; '
                         'on CPU use --launcher pytorch (tools/dist_train.sh, torchrun)')
    dist_cfg = dict(cfg.env_cfg.get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'nccl')
    if backend != 'gloo':
        raise SystemExit(f'error: dist backend {backend!r} needs GPUs; on CPU add '
                         '--cfg-options env_cfg.dist_cfg.backend=gloo')
    check_sync_bn(cfg)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    if issubclass(MODEL_WRAPPERS.get(wrapper['type']), DistributedDataParallel):
        wrapper.setdefault('device_ids', None)  # CPU modules take no device ids
    cfg.model_wrapper_cfg = wrapper
    if 'timeout' in dist_cfg:
        dist_cfg['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    torch.distributed.init_process_group(backend=backend, **dist_cfg)


def finish_distributed() -> None:
    """Wait for every rank, then shut the process group down.

    Leaving it to interpreter exit let a rank abort ("terminate called without
    an active exception") while another still used the gloo connection: a
    flaky non-zero exit after a successful run.
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


#: What the pre-flight (:func:`check_config`, :func:`check_data_roots`) raises about the
#: user's config or files; each message names the problem and the fix.
PREFLIGHT_ERRORS = (ConfigError, MissingFileError, CheckpointFileError)


@contextmanager
def exit_on_preflight_error():
    """For a tool's ``__main__``: a pre-flight failure ends the program with the one line
    ``error: <message>`` (exit status 1) instead of a traceback.  ``main()`` itself still
    raises, so tests and callers can catch the exception types."""
    try:
        yield
    except PREFLIGHT_ERRORS as err:
        raise SystemExit(f'error: {err}') from None


def add_compile_hook(cfg: Config) -> None:
    """With ``compile`` set, add :class:`~mmqsd.engine.hooks.CompileHook` to the custom
    hooks (once): mmengine alone compiles only the training step and fails on config-built
    optimizers (:mod:`mmqsd.engine.hooks.compile_hook`).

    ``compile=dict(modules=[NAMES], **options)`` compiles only those submodules (e.g.
    ``['backbone', 'neck']`` of a detector, whose proposal sampling and NMS have
    data-dependent shapes): ``compile`` is then removed from ``cfg`` (mmengine would
    compile the whole train step) and handed to the hook.

    Raises:
        TypeError: ``compile`` is neither a bool nor a dict, or ``modules`` is not a
            non-empty list of submodule names.
    """
    options = compile_options(cfg.get('compile', None))
    if options is None:
        return
    hook = dict(type='mmqsd.CompileHook')
    if 'modules' in options:
        modules = options.pop('modules')
        if (isinstance(modules, str) or not isinstance(modules, (list, tuple)) or not modules
                or not all(isinstance(m, str) for m in modules)):
            raise TypeError(f"compile.modules must be a non-empty list of submodule names, "
                            f"e.g. ['backbone', 'neck'], got {modules!r}")
        hook.update(modules=list(modules), options=options)
        cfg.compile = False
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(h.get('type') in ('mmqsd.CompileHook', 'CompileHook', CompileHook)
               for h in hooks):
        hooks.append(hook)
    cfg.custom_hooks = hooks


def build_runner(cfg: Config, loaders=DATALOADERS) -> Runner:
    """Check the config (:func:`~mmqsd.utils.config_checks.check_config`) and the data
    sets the run will read, set up distribution, add the compile hook when ``compile``
    is set, build the Runner."""
    check_config(cfg)
    check_data_roots(cfg, loaders)
    prepare_distributed(cfg)
    add_compile_hook(cfg)
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
