"""Pre-flight checks of a run's config, before the Runner builds anything.

``tools/train.py`` and ``tools/test.py`` call :func:`check_config` (through
:func:`mmqsd.utils.launch.build_runner`).  Each check catches a config that
would otherwise fail late (after the data sets are built) or deep inside a
library with a message that names neither the key nor the fix, and raises
:class:`ConfigError` (or ``FileNotFoundError`` for a missing file) naming
the config key and what to change.  docs/troubleshooting.md lists them.
"""
import inspect
import os.path as osp
from typing import Iterator, List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, HOOKS, MODELS, OPTIM_WRAPPERS, TRANSFORMS, Registry

from .. import registry as mmqsd_registry
from .checkpoint_file import check_checkpoint_file


class ConfigError(ValueError):
    """A config value that cannot work, with the key and the fix in the message."""


class MissingFileError(FileNotFoundError):
    """A file or folder the config names does not exist (the message says how to get it)."""


# (mmqsd registry, the root registry it is a child of)
_REGISTRY_PAIRS = (
    (mmqsd_registry.MODELS, MODELS),
    (mmqsd_registry.DATASETS, DATASETS),
    (mmqsd_registry.TRANSFORMS, TRANSFORMS),
    (mmqsd_registry.HOOKS, HOOKS),
    (mmqsd_registry.OPTIM_WRAPPERS, OPTIM_WRAPPERS),
)
_PRETRAINED_HINT = (
    'no trained weights are released (docs/model_zoo.md): train the classification config '
    'first (e.g. tools/train.py configs/cls/qsd_t_in1k.py) and use its checkpoint, or convert '
    "the authors' released checkpoint with tools/model_converters/qsd2mmqsd.py "
    '(QSD-Transformer) or tools/model_converters/sdtv2_to_mmqsd.py (SD-Transformer v2)')


def walk_dicts(node, path: str) -> Iterator[Tuple[str, dict]]:
    """Every dict in a nested config, with its dotted key (list items by index)."""
    if isinstance(node, dict):
        yield path, node
        items = node.items()
    elif isinstance(node, (list, tuple)):
        items = ((str(i), item) for i, item in enumerate(node))
    else:
        return
    for key, value in items:
        yield from walk_dicts(value, f'{path}.{key}' if path else key)


def _scope_registry(root: Registry, scope: str) -> Registry:
    with root.switch_scope_and_registry(scope) as registry:
        return registry


def check_registry_scopes(cfg: Config) -> None:
    """Refuse an mmqsd type written without the ``mmqsd.`` prefix.

    Under ``default_scope='mmdet'`` (mmseg, mmpretrain alike) ``type='QSDTransformer'``
    is looked up in mmdet's registry and its parents only, and mmengine says
    no more than "not in the mmdet::model registry".  Every ``type`` string of
    the config that the run's scope cannot resolve but an mmqsd registry
    (models, data sets, transforms, hooks, optimiser wrappers) holds is
    reported with the prefixed name.

    Raises:
        ConfigError: naming the key, the scope and ``type='mmqsd.<Name>'``.
    """
    scope = cfg.get('default_scope') or 'mmengine'
    for ours, root in _REGISTRY_PAIRS:
        ours.import_from_location()
    registries = [(ours, _scope_registry(root, scope)) for ours, root in _REGISTRY_PAIRS]
    for path, node in walk_dicts(dict(cfg.items()), ''):
        kind = node.get('type')
        if not isinstance(kind, str):
            continue
        name = kind.split('.', 1)[-1]
        for ours, theirs in registries:
            if name in ours.module_dict and theirs.get(kind) is None:
                raise ConfigError(
                    f"{path or 'cfg'}.type={kind!r} is not in the {scope} scope's {theirs.name} "
                    f"registry, it is an mmqsd type: write type='mmqsd.{name}' (the config "
                    f"runs under default_scope={scope!r}; the prefix selects mmqsd's registry)")


def _model_class(kind, scope: str) -> Optional[type]:
    if not isinstance(kind, str):
        return kind if isinstance(kind, type) else None
    return _scope_registry(MODELS, scope).get(kind)


def _takes(cls: Optional[type], argument: str) -> bool:
    try:
        return argument in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return True  # not introspectable: let the class decide


def check_pretrained_key(cfg: Config) -> None:
    """Refuse the mmseg 0.x / mmdet 2.x ``pretrained=PATH`` where it cannot work.

    mmseg's segmentors hand ``pretrained`` to the backbone and mmdet's
    detectors do not take it, so with an mmqsd backbone it ends in a bare
    ``TypeError: ... unexpected keyword argument 'pretrained'``.  The 1.x way
    is the backbone's ``init_cfg``.  (mmpretrain's ``ImageClassifier`` turns
    its own ``pretrained`` into an ``init_cfg`` and is left alone.)

    Raises:
        ConfigError: naming the key and the ``init_cfg`` to write instead.
    """
    scope = cfg.get('default_scope') or 'mmengine'
    for path, node in walk_dicts(cfg.get('model') or {}, 'model'):
        if node.get('pretrained') is None or 'type' not in node:
            continue
        cls = _model_class(node['type'], scope)
        receiver = cls
        if cls is not None and _takes(cls, 'pretrained') and cls.__module__.startswith('mmseg.'):
            backbone = node.get('backbone') or {}
            receiver = _model_class(backbone.get('type'), scope)
        if receiver is None or _takes(receiver, 'pretrained'):
            continue
        owner = f'{path}.backbone' if 'backbone' in node else path
        raise ConfigError(
            f'{path}.pretrained={node["pretrained"]!r} is the mmseg 0.x / mmdet 2.x key, which '
            f'{receiver.__name__} does not take: remove it ({path}.pretrained=None) and load the '
            f"weights by writing {owner}.init_cfg=dict(type='Pretrained', checkpoint=PATH, "
            "prefix='backbone.') in your config file (prefix='backbone.' picks the backbone "
            'of a classification checkpoint; no prefix for a backbone-only file; '
            "mmengine's --cfg-options cannot set a dict-valued init_cfg)")


def _is_local(path) -> bool:
    return isinstance(path, str) and '://' not in path


def check_checkpoint_files(cfg: Config) -> None:
    """Every local checkpoint the run will load exists and is whole.

    Covers ``init_cfg=dict(type='Pretrained', checkpoint=...)`` anywhere in the
    model, ``teacher_ckpt`` (FGD), ``load_from`` (``--resume PATH``,
    ``tools/test.py``'s checkpoint) and, for ``--resume`` without a path, the
    latest checkpoint named in the work dir's ``last_checkpoint``.  Each file gets
    :func:`~mmqsd.utils.checkpoint_file.check_checkpoint_file` (empty, not a
    checkpoint, truncated, damaged records, wrong OpenMMLab name hash).  URLs are
    left to mmengine.

    Raises:
        MissingFileError: naming the key, the path and how to get the file.
        CheckpointFileError: naming the file, what is wrong with it and the fix.
    """
    for path, node in walk_dicts(cfg.get('model') or {}, 'model'):
        if node.get('type') == 'Pretrained' and _is_local(node.get('checkpoint')):
            file, key = node['checkpoint'], f'{path}.checkpoint'
            owner = path.rsplit('.init_cfg', 1)[0]
            fix = (f'{_PRETRAINED_HINT}; then --cfg-options {key}=PATH.  To train from '
                   f'scratch instead: --cfg-options {owner}.init_cfg=None')
        elif _is_local(node.get('teacher_ckpt')):
            file, key = node['teacher_ckpt'], f'{path}.teacher_ckpt'
            fix = ('train the ANN teacher first (e.g. tools/train.py configs/cls/ann_t_in1k.py, '
                   f'docs/fgd.md) and point --cfg-options {key}=PATH at its checkpoint')
        else:
            continue
        if not osp.isfile(file):
            raise MissingFileError(f'{key}: checkpoint {file!r} does not exist; {fix}')
        check_checkpoint_file(file)
    load_from = cfg.get('load_from')
    if _is_local(load_from):
        if not osp.isfile(load_from):
            what = '--resume' if cfg.get('resume') else 'load_from / the checkpoint argument'
            raise MissingFileError(
                f'checkpoint {load_from!r} ({what}) does not exist: give the path of a .pth '
                'file written by tools/train.py (work_dirs/<config>/epoch_N.pth, iter_N.pth or '
                "the file named in last_checkpoint); '--resume' alone resumes the latest one")
        check_checkpoint_file(load_from)
    elif cfg.get('resume') and load_from is None and cfg.get('work_dir'):
        latest = _latest_checkpoint(cfg.work_dir)
        if latest is not None:
            check_checkpoint_file(latest)


def _latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` without a path continues from (mmengine's
    ``find_latest_checkpoint``: the path stored in ``work_dir/last_checkpoint``)."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        latest = f.read().strip()
    return latest if _is_local(latest) else None


def _is_sync_bn(kind) -> bool:
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return 'syncbn' in name.lower().replace('batchnorm', 'bn')


def check_sync_bn(cfg: Config) -> None:
    """Refuse SyncBN in a distributed run on CPU or with the gloo backend.

    ``SyncBatchNorm`` only synchronises CUDA tensors: torch converts the layers
    and then raises in the first training step.  A non-distributed run is
    fine (mmengine reverts SyncBN to BN), so only ``--launcher`` runs are
    checked: the ``sync_bn`` key and every ``SyncBN`` norm in the model.

    Raises:
        SystemExit: naming the keys and the fix (BN, or GPUs with nccl).
    """
    if cfg.get('launcher', 'none') == 'none':
        return
    backend = ((cfg.get('env_cfg') or {}).get('dist_cfg') or {}).get('backend', 'nccl')
    if torch.cuda.is_available() and backend != 'gloo':
        return
    where = 'on CPU' if not torch.cuda.is_available() else 'with the gloo backend'
    if cfg.get('sync_bn'):
        raise SystemExit(f"error: sync_bn={cfg.sync_bn!r} needs GPUs: SyncBatchNorm only "
                         f'synchronises CUDA/XPU tensors and raises {where} during training; '
                         'remove sync_bn (e.g. --cfg-options sync_bn=None) for CPU runs')
    keys = [f'{path}.type' for path, node in walk_dicts(cfg.get('model') or {}, 'model')
            if _is_sync_bn(node.get('type'))]
    if keys:
        options = ' '.join(f'{key}=BN' for key in keys)
        raise SystemExit(f"error: {', '.join(keys)} = SyncBN needs GPUs with the nccl backend: "
                         f'SyncBatchNorm raises {where} during training; use '
                         f"norm_cfg=dict(type='BN') (--cfg-options {options}) or run on GPUs")


def backbone_out_channels(backbone_cfg: dict) -> Optional[List[int]]:
    """Channels of each output of an mmqsd backbone config, or None for other backbones.

    Raises what the backbone's constructor raises (``ValueError`` for
    out-of-range ``frozen_stages``, ``out_indices``, arch keys ...).

    The backbone is constructed (about 0.1-0.3 s and its weights' memory, freed on
    return), so its own argument checks run.
    """
    kind = backbone_cfg.get('type')
    if not isinstance(kind, str) or kind.split('.', 1)[0] not in ('mmqsd', kind):
        return None
    cls = mmqsd_registry.MODELS.module_dict.get(kind.split('.', 1)[-1])
    if cls is None:
        return None
    args = {k: v for k, v in backbone_cfg.items() if k not in ('type', 'init_cfg')}
    backbone = cls(**args)
    # CSDformer: stage_channels; QSDTransformer: embed_dims per stage; QSDSpikformer:
    # embed_dims of its one token map.
    per_stage = getattr(backbone, 'stage_channels', None) or getattr(backbone, 'embed_dims', None)
    if isinstance(per_stage, int):
        return [per_stage]
    out_indices = getattr(backbone, 'out_indices', None)
    if per_stage is None or out_indices is None:
        return None  # not known here; the neck's forward pass still checks
    return [int(per_stage[i]) for i in out_indices]


def _in_channels(module: dict) -> List[int]:
    channels = module['in_channels']
    return [int(c) for c in channels] if isinstance(channels, (list, tuple)) else [int(channels)]


def _expected_in_channels(model: dict, out: List[int]) -> Iterator[Tuple[str, dict, List[int]]]:
    """``(key, module cfg, channels it must be built for)`` of the modules that read
    the backbone's outputs ``out`` (the neck, or the head after a channel-preserving
    neck) and of those that read the neck's (decode head, RPN head: every pyramid
    level has the neck's ``out_channels``)."""
    neck, head = model.get('neck'), model.get('head')
    if isinstance(neck, dict) and 'in_channels' in neck:
        yield 'neck', neck, out
    elif (neck is None or 'Pooling' in str(neck.get('type'))) and isinstance(
            head, dict) and 'in_channels' in head:  # e.g. GlobalAveragePooling keeps channels
        yield 'head', head, out[-1:]
    if isinstance(neck, dict) and isinstance(neck.get('out_channels'), int):
        for name in ('decode_head', 'rpn_head'):
            module = model.get(name)
            if isinstance(module, dict) and 'in_channels' in module:
                yield name, module, [neck['out_channels']] * len(_in_channels(module))


def check_channels(cfg: Config) -> None:
    """Every neck and head of a model with an mmqsd backbone is built for its input.

    For every model (or FGD student / teacher) with an mmqsd backbone: the
    neck's ``in_channels`` must equal the backbone's output channels (one per
    ``out_indices`` entry); without a neck, or after a channel-preserving one
    (``GlobalAveragePooling``), the head's ``in_channels`` must equal the last
    output's; a decode head's or RPN head's ``in_channels`` must equal the
    neck's ``out_channels``.  The necks and heads check the same in their
    forward pass.

    Raises:
        ConfigError: naming the key and the channels to set.
        ValueError / TypeError: the backbone's own argument checks.
    """
    for path, model in walk_dicts(cfg.get('model') or {}, 'model'):
        try:
            out = backbone_out_channels(model['backbone']) if isinstance(
                model.get('backbone'), dict) else None
        except (ValueError, TypeError) as err:  # the backbone's own argument checks
            raise ConfigError(f'{path}.backbone: {err}') from None
        if out is None:
            continue
        for name, module, expected in _expected_in_channels(model, out):
            if _in_channels(module) == expected:
                continue
            value = expected if isinstance(module['in_channels'], (list, tuple)) else expected[0]
            source = (f'the neck\'s out_channels ({path}.neck.out_channels)' if name in (
                'decode_head', 'rpn_head') else f'the output channels of {path}.backbone '
                f'({model["backbone"]["type"]}, one per out_indices entry)')
            raise ConfigError(f'{path}.{name}.in_channels={module["in_channels"]!r} does not '
                              f'match {source}, {expected}: set --cfg-options '
                              f'"{path}.{name}.in_channels={value}"')


def check_config(cfg: Config) -> None:
    """Run every pre-flight check (cheap: nothing is trained or loaded)."""
    check_registry_scopes(cfg)
    check_pretrained_key(cfg)
    check_sync_bn(cfg)
    check_checkpoint_files(cfg)
    check_channels(cfg)
