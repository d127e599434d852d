"""Convert the authors' QSD-Transformer / SDT-V2 checkpoints into mmqsd checkpoints.

Key layouts: the authors' released checkpoints (bollossom/QSD-Transformer,
BICLab/Spike-Driven-Transformer-V2); module names: :mod:`mmqsd.layers.qsd_blocks`.
A key is renamed in three table-driven steps -- module prefix (:data:`MODULES`), sub-module
(:data:`SUBMODULES`), leaf (:data:`LEAVES`) -- and the same tables give the
inverse (:func:`authors_key`), which the tests use to write synthetic
checkpoints in the authors' layout.

What the authors' checkpoints hold beyond mmqsd's parameters:

* QSD: ``P.act.{alpha,zero_point,init_state,signed}`` of the never-applied
  activation LSQ -- discarded and listed in the report;
  ``P.alpha`` / ``P.init_state`` become ``step_size`` / ``step_initialized``.
* SDT-V2: ``head_kd`` (DeiT distillation head).  At evaluation the authors
  average both heads, which -- both being linear on the same spikes -- equals
  one head with averaged weights (``kd_head='average'``), or it is dropped.
  SDT-V2 has no layer scale; ``layer_scale{1,2}`` are filled with ones.

Computing what the authors' code computes needs model options, not just keys:
``configs/cls/qsd_{t,l}_in1k_authors.py`` (Multispike ``round(clip(4x,0,4))/4``,
attention neuron ``/2``, scale 0.25, no MPRF) and
``configs/cls/sdtv2_l_in1k_authors.py`` (binary LIF, see its header).

Converted checkpoints are ``{'state_dict', 'meta'}`` of tensors and plain
Python values, loadable with ``torch.load(weights_only=True)``, written
atomically (:func:`save_checkpoint`).
"""
import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

from ...utils.checkpoint_file import load_checkpoint_file

#: (authors' prefix, mmqsd prefix, block-index offset or None).  ``{}`` is a block index.
MODULES = (
    ('downsample1_1.', 'backbone.stages.0.0.', None),
    ('ConvBlock1_1.0.', 'backbone.stages.0.1.', None),
    ('downsample1_2.', 'backbone.stages.0.2.', None),
    ('ConvBlock1_2.0.', 'backbone.stages.0.3.', None),
    ('downsample2.', 'backbone.stages.1.0.', None),
    ('ConvBlock2_1.0.', 'backbone.stages.1.1.', None),
    ('ConvBlock2_2.0.', 'backbone.stages.1.2.', None),
    ('downsample3.', 'backbone.stages.2.0.', None),
    ('block3.{}.', 'backbone.stages.2.{}.', 1),  # stage 2 starts with its downsample
    ('downsample4.', 'backbone.stages.3.0.', None),
    ('block4.{}.', 'backbone.stages.3.{}.', 1),
    ('head.', 'head.fc.', None),
)

#: RepConv internals: authors' ``Sequential(RepConv, BN)`` body -> mmqsd RepConv.
_REPCONV = (('0.body.0.', 'pw_in.'), ('0.body.1.bn.', 'bn_pad.'), ('0.body.2.0.', 'dw.'),
            ('0.body.2.1.', 'pw_out.'), ('0.body.2.2.', 'bn_out.'))

#: (authors' sub-module prefix, mmqsd sub-module prefix) inside a block; unlisted
#: sub-modules (ConvBlock conv1/bn1/..., mlp.fc*_bn, layer scales) keep their names.
SUBMODULES = (
    ('encode_conv.', 'conv.'), ('encode_bn.', 'bn.'), ('Conv.', 'sepconv.'),
    ('mlp.fc1_conv.', 'mlp.fc1.'), ('mlp.fc2_conv.', 'mlp.fc2.'),
    ('attn.proj_conv.1.', 'attn.proj_bn.'),
    *((f'attn.proj_conv.{a}', f'attn.proj.{m}') for a, m in _REPCONV),
    *((f'attn.{b}_conv.1.', f'attn.{b}.bn.') for b in 'qkv'),
    *((f'attn.{b}_conv.{a}', f'attn.{b}.conv.{m}') for b in 'qkv' for a, m in _REPCONV),
)

#: LSQ leaves: the authors' per-channel ``alpha`` is mmqsd's ``step_size``.
LEAVES = (('alpha', 'step_size'), ('init_state', 'step_initialized'))

#: Keys of the authors' activation LSQ, instantiated but never applied.
UNUSED_ACT_LSQ = re.compile(r'\.act\.(alpha|zero_point|init_state|signed)$')
#: DDP / EMA wrappers around the authors' state dicts.
WRAPPER_PREFIXES = ('module.', )


def _compile(template: str) -> re.Pattern:
    return re.compile('^' + re.escape(template).replace(r'\{\}', r'(\d+)'))


def _rename(key: str, pairs, forward: bool) -> Optional[str]:
    """Replace the first matching prefix of ``key`` (``pairs``: (authors, mmqsd[, offset]))."""
    for src, dst, *offset in pairs:
        src, dst = (src, dst) if forward else (dst, src)
        match = _compile(src).match(key)
        if not match:
            continue
        head = dst
        if match.groups():
            shift = offset[0] if forward else -offset[0]
            head = dst.format(int(match.group(1)) + shift)
        return head + key[match.end():]
    return None


def _rename_leaf(key: str, forward: bool) -> str:
    module, _, leaf = key.rpartition('.')
    for src, dst in LEAVES:
        if leaf == (src if forward else dst):
            return f'{module}.{dst if forward else src}'
    return key


def mmqsd_key(authors: str) -> Optional[str]:
    """The mmqsd name of an authors' key, or None when no rule applies (unused key)."""
    key = _rename(authors, MODULES, True)
    if key is None:
        return None
    module, _, rest = key.partition('.stages.')
    if rest:  # backbone key: rename the part after 'stages.i.j.'
        stage, block, inner = rest.split('.', 2)
        key = f'{module}.stages.{stage}.{block}.' + (_rename(inner, SUBMODULES, True) or inner)
    return _rename_leaf(key, True)


def authors_key(key: str) -> Optional[str]:
    """Inverse of :func:`mmqsd_key` (used to write checkpoints in the authors' layout)."""
    key = _rename_leaf(key, False)
    module, _, rest = key.partition('.stages.')
    if rest:
        stage, block, inner = rest.split('.', 2)
        key = f'{module}.stages.{stage}.{block}.' + (_rename(inner, SUBMODULES, False) or inner)
    return _rename(key, MODULES, False)


@dataclass
class ConversionReport:
    """What happened to every key.  ``missing`` / ``unexpected`` / ``mismatched``
    are filled by :func:`check_against_model`."""
    source_keys: int = 0
    converted: Dict[str, str] = field(default_factory=dict)  # mmqsd key -> authors' key
    discarded: Dict[str, str] = field(default_factory=dict)  # authors' key -> reason
    synthesized: Dict[str, str] = field(default_factory=dict)  # mmqsd key -> how
    unused: List[str] = field(default_factory=list)  # authors' keys no rule knows
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unused or self.missing or self.unexpected or self.mismatched)

    def summary(self, max_listed: int = 10) -> str:
        lines = [f'{self.source_keys} source keys: {len(self.converted)} converted, '
                 f'{len(self.discarded)} discarded by design, {len(self.synthesized)} '
                 f'mmqsd keys synthesized, {len(self.unused)} unused']
        sections = (('UNUSED (no rule maps them; a different model?)', self.unused),
                    ('MISSING in the converted checkpoint', self.missing),
                    ('UNEXPECTED by the model', self.unexpected),
                    ('SHAPE MISMATCH (checkpoint vs model)', self.mismatched),
                    ('warning', self.warnings))
        for title, keys in sections:
            if keys:
                shown = list(keys)[:max_listed]
                more = f' ... ({len(keys)} in all)' if len(keys) > max_listed else ''
                lines.append(f'{title}: ' + ', '.join(shown) + more)
        if self.discarded:
            reasons = sorted(set(self.discarded.values()))
            lines.append('discarded: ' + '; '.join(reasons))
        return '\n'.join(lines)


def _convert_value(key: str, value: torch.Tensor) -> torch.Tensor:
    if key.endswith('.step_size'):
        return value.reshape(-1).clone()
    if key.endswith('.step_initialized'):
        return torch.tensor(bool(value.reshape(-1)[0]))
    return value.clone()


def _rename_all(state: Dict[str, torch.Tensor], report: ConversionReport,
                skip=lambda key: None) -> Dict[str, torch.Tensor]:
    """Rename every key; ``skip(key)`` returns a reason to discard it (or None)."""
    report.source_keys = len(state)
    out = {}
    for key, value in state.items():
        reason = skip(key)
        if reason:
            report.discarded[key] = reason
            continue
        new = mmqsd_key(key)
        if new is None:
            report.unused.append(key)
            continue
        out[new] = _convert_value(new, value)
        report.converted[new] = key
    return out


def convert_qsd_state_dict(state: Dict[str, torch.Tensor]) -> Tuple[dict, ConversionReport]:
    """Authors' QSD-Transformer state dict (QSD extras) -> mmqsd classifier keys."""
    report = ConversionReport()
    out = _rename_all(state, report, lambda key: 'activation LSQ (never applied)'
                      if UNUSED_ACT_LSQ.search(key) else None)
    stale = [k for k, v in out.items() if k.endswith('.step_initialized') and not bool(v)]
    if stale:
        report.warnings.append(
            f'{len(stale)} layers have init_state=0 (e.g. {stale[0]}): their alpha was never '
            'initialised in the authors\' run; mmqsd re-initialises these steps from the weights')
    return out, report


def convert_sdtv2_state_dict(state: Dict[str, torch.Tensor], kd_head: str = 'average'
                             ) -> Tuple[dict, ConversionReport]:
    """SDT-V2 state dict -> mmqsd keys (``weight_bits=None``, LIF neurons).

    ``kd_head``: 'average' merges ``head_kd`` into ``head`` exactly as the
    authors' evaluation averages the two heads' logits; 'drop' ignores it.
    """
    if kd_head not in ('average', 'drop'):
        raise ValueError(f"kd_head must be 'average' or 'drop', got {kd_head!r}")
    state = dict(state)
    report = ConversionReport()
    has_kd = any(k.startswith('head_kd.') for k in state)
    if has_kd and kd_head == 'average':
        for leaf in ('weight', 'bias'):
            state[f'head.{leaf}'] = (state[f'head.{leaf}'] + state[f'head_kd.{leaf}']) / 2
    reason = f'KD head ({"averaged into head" if kd_head == "average" else "dropped"})'
    out = _rename_all(state, report, lambda k: reason if k.startswith('head_kd.') else None)
    # SDT-V2 blocks are x + f(x): unit layer scales (QSD adds learnable ones).
    for key in list(out):
        match = re.match(r'(backbone\.stages\.[23]\.\d+\.)attn\.proj_bn\.weight$', key)
        if match:
            for name in ('layer_scale1', 'layer_scale2'):
                out[match.group(1) + name] = torch.ones_like(out[key])
                report.synthesized[match.group(1) + name] = 'ones (SDT-V2 has no layer scale)'
    return out, report


def check_against_model(state: Dict[str, torch.Tensor], model: nn.Module,
                        report: ConversionReport) -> ConversionReport:
    """Record keys the model lacks / does not fill / gets in another shape."""
    own = model.state_dict()
    report.missing = sorted(k for k in own if k not in state)
    report.unexpected = sorted(k for k in state if k not in own)
    report.mismatched = sorted(f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
                               for k, v in own.items() if k in state and state[k].shape != v.shape)
    return report


def unwrap_state_dict(checkpoint) -> Dict[str, torch.Tensor]:
    """``{'model': sd}``, ``{'state_dict': sd}`` or a bare state dict, without ``module.``."""
    if not isinstance(checkpoint, dict):
        raise ValueError(f'expected a checkpoint dict, got {type(checkpoint).__name__}')
    state = checkpoint.get('model', checkpoint.get('state_dict', checkpoint))
    state = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    for prefix in WRAPPER_PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def to_plain(obj):
    """Meta values as plain Python types (str for anything else), for weights-only loading."""
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, torch.Tensor) and obj.numel() == 1:
        return obj.item()
    return str(obj)


def plain_state_dict(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Detached, contiguous plain tensors (no Parameters, no shared storage with a model)."""
    return {k: v.detach().clone().contiguous() for k, v in state.items()}


def save_checkpoint(state: Dict[str, torch.Tensor], meta: dict, path: str) -> str:
    """Write ``{'state_dict', 'meta'}`` atomically (temporary file + ``os.replace``)."""
    out_dir = os.path.dirname(os.path.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    payload = dict(state_dict=plain_state_dict(state), meta=to_plain(meta))
    fd, tmp = tempfile.mkstemp(prefix='.tmp-', suffix='.pth', dir=out_dir)
    try:
        with os.fdopen(fd, 'wb') as file:
            torch.save(payload, file)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def convert_checkpoint(src: str, dst: str, convert, config: Optional[str] = None,
                       trusted: bool = False, allow_incomplete: bool = False,
                       meta: Optional[dict] = None) -> ConversionReport:
    """Load ``src``, ``convert`` its state dict, check it against ``config``'s model, save.

    Raises ``ValueError`` (writing nothing) when keys are unused, missing,
    unexpected or mis-shaped, unless ``allow_incomplete``.
    """
    state, report = convert(unwrap_state_dict(load_checkpoint_file(src, trusted)))
    if config is not None:
        from ...apis import build_model_from_config
        check_against_model(state, build_model_from_config(config), report)
    if not report.ok and not allow_incomplete:
        raise ValueError(f'conversion of {src} is incomplete:\n{report.summary()}\n'
                         'Check that --config matches the checkpoint (arch, QSD vs SDT-V2); '
                         'pass --allow-incomplete to write it anyway.')
    from ...version import __version__
    meta = dict(meta or {}, converted_from=os.path.basename(src), config=config,
                mmqsd_version=__version__, discarded_keys=sorted(report.discarded),
                synthesized_keys=sorted(report.synthesized), unused_keys=report.unused,
                missing_keys=report.missing)
    save_checkpoint(state, meta, dst)
    return report


def converter_cli(argv, description: str, convert, meta: dict, add_arguments=None) -> int:
    """Shared command line of ``tools/model_converters/{qsd2mmqsd,sdtv2_to_mmqsd}.py``.

    ``convert(state, args)`` converts a state dict; ``add_arguments(parser)``
    adds tool-specific options (recorded in ``meta``).
    """
    import argparse
    import sys
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help="authors' checkpoint ({'model': ...})")
    parser.add_argument('dst', help='output mmqsd checkpoint')
    parser.add_argument('--config', help='mmqsd config to check every key against '
                        '(a configs/cls/*_authors.py); recommended')
    parser.add_argument('--trusted', action='store_true',
                        help='allow unpickling non-tensor objects (the authors store args)')
    parser.add_argument('--allow-incomplete', action='store_true',
                        help='write the checkpoint even with unused/missing keys')
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    extra = {k: v for k, v in vars(args).items()
             if k not in ('src', 'dst', 'config', 'trusted', 'allow_incomplete')}
    try:
        report = convert_checkpoint(args.src, args.dst, lambda state: convert(state, args),
                                    args.config, args.trusted, args.allow_incomplete,
                                    meta=dict(meta, **extra))
    except (ValueError, FileNotFoundError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(report.summary())
    print(f'saved {args.dst}')
    return 0
