"""Load an mmqsd classification checkpoint into a backbone, strictly, with clear errors.

QSD paper Sec. 5: the detection and segmentation backbones start from the
ImageNet-1K model.  mmengine's ``PretrainedInit`` loads with ``strict=False``
and only logs a warning, so a wrong arch or prefix silently leaves the backbone
random.  :func:`load_pretrained_backbone` instead raises a ``ValueError`` that
names the offending keys and the likely fix.

Tolerated differences (everything else is an error):

* LSQ ``step_size`` / ``step_initialized`` missing: a full-precision
  checkpoint loaded into a quantised backbone; the quantised layers
  re-initialise their steps from the loaded weights
  (``LSQWeightMixin._load_from_state_dict``).
* LSQ ``step_size`` / ``step_initialized`` unexpected: a quantised checkpoint
  loaded into a full-precision backbone; its latent weights are used (warning).
* MPRF parameters missing: a ``mprf=False`` checkpoint loaded into a
  ``mprf=True`` backbone; the MPRFs keep their initial values and are learnt
  during fine-tuning (warning).  Unexpected MPRF keys (checkpoint trained with
  MPRF, backbone built without) are an error: the rectification would be lost.

Deliberate difference from the authors' ``init_weights`` (``q_sdt.py``, their
detection backbone wrapper): no ``strict=False`` and no
"strip the first 9 characters" guess; their ``{'model': ...}`` checkpoints
use other key names and must be converted with ``tools/model_converters``.
"""
import logging
from typing import Dict, List, Tuple

import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

STEP_SUFFIXES = ('.step_size', '.step_initialized')
MAX_LISTED = 5


def _is_step(key: str) -> bool:
    return key.endswith(STEP_SUFFIXES)


def _is_mprf(key: str) -> bool:
    return '.mprf.' in key


def _listing(keys) -> str:
    keys = sorted(keys)
    shown = ', '.join(keys[:MAX_LISTED])
    return shown + (f', ... ({len(keys)} in all)' if len(keys) > MAX_LISTED else '')


def extract_state_dict(checkpoint, prefix: str, source: str) -> Dict[str, torch.Tensor]:
    """The checkpoint's weights under ``prefix`` with the prefix stripped."""
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{source} is not a state-dict checkpoint '
                         f'(got {type(checkpoint).__name__})')
    state = checkpoint.get('state_dict', checkpoint.get('model', checkpoint))
    if not prefix:
        return dict(state)
    if not prefix.endswith('.'):
        prefix += '.'
    selected = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not selected:
        heads = sorted({k.split('.', 1)[0] + '.' for k in state})
        raise ValueError(
            f'no key of {source} starts with prefix {prefix!r}; its keys start with '
            f'{heads[:MAX_LISTED]}. Set init_cfg.prefix to the right one (mmqsd classifiers: '
            "'backbone.'; an already stripped backbone: prefix=''), or convert the authors' "
            'checkpoints with tools/model_converters first.')
    return selected


def check_state_dict(model: nn.Module, state: Dict[str, torch.Tensor],
                     source: str) -> Tuple[List[str], List[str]]:
    """Raise on missing, unexpected or mis-shaped keys that are not tolerated.

    Returns the tolerated ``(missing, unexpected)`` keys, for the caller to report.
    """
    own = model.state_dict()
    if not own.keys() & state.keys():
        raise ValueError(
            f'none of the {type(model).__name__} keys (e.g. {next(iter(own))}) is in {source} '
            f'(its keys look like {next(iter(state), None)}). Is init_cfg.prefix right? '
            "mmqsd classifiers need prefix='backbone.'; checkpoints of the authors' code must "
            'be converted with tools/model_converters first.')
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    bad_missing = [k for k in missing if not (_is_step(k) or _is_mprf(k))]
    bad_unexpected = [k for k in unexpected if not _is_step(k)]
    mismatched = [f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
                  for k, v in own.items() if k in state and state[k].shape != v.shape]
    problems = []
    if bad_missing:
        problems.append(f'missing in the checkpoint: {_listing(bad_missing)}')
    if bad_unexpected:
        problems.append(f'in the checkpoint but not in the backbone: {_listing(bad_unexpected)}')
    if mismatched:
        problems.append(f'shape mismatch (checkpoint vs backbone): {_listing(mismatched)}')
    if problems:
        hints = []
        if mismatched or bad_missing:
            hints.append('is the backbone arch (T/M/L, embed_dims, depths) the one the '
                         'checkpoint was trained with?')
        if any(_is_mprf(k) for k in bad_unexpected):
            hints.append('the checkpoint was trained with MPRF: build the backbone with mprf=True')
        hints.append("checkpoints of the authors' code must be converted with "
                     'tools/model_converters')
        raise ValueError(f'{type(model).__name__} cannot load {source}:\n  '
                         + '\n  '.join(problems) + '\nCheck: ' + '; '.join(hints))
    return [k for k in missing if _is_mprf(k)], [k for k in unexpected if _is_step(k)]


def load_pretrained_backbone(model: nn.Module, checkpoint: str, prefix: str = 'backbone.',
                             map_location='cpu') -> None:
    """Load ``checkpoint`` (its ``state_dict`` or ``model`` entry, keys under ``prefix``)."""
    source = f'checkpoint {checkpoint!r}'
    raw = CheckpointLoader.load_checkpoint(checkpoint, map_location=map_location)
    state = extract_state_dict(raw, prefix, source)
    missing_mprf, extra_steps = check_state_dict(model, state, source)
    if missing_mprf:
        print_log(f'{source} has no MPRF parameters (trained with mprf=False); '
                  f'{len(missing_mprf)} MPRF tensors keep their initial values',
                  logger='current', level=logging.WARNING)
    if extra_steps:
        print_log(f'{source} has LSQ steps but the backbone is full precision '
                  '(weight_bits=None); the latent full-precision weights are loaded',
                  logger='current', level=logging.WARNING)
    dropped = set(extra_steps)
    state = {k: v for k, v in state.items() if k not in dropped}
    model.load_state_dict(state, strict=False)
    print_log(f'loaded {type(model).__name__} from {source} (prefix {prefix!r})', logger='current')
