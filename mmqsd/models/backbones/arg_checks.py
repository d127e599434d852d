"""Argument checks shared by the mmqsd backbones.

Index-like arguments select stages by position; a value outside the stage
range used to be accepted and acted on silently (``frozen_stages=-2`` froze
stages 0-2 through Python's negative slicing, ``out_indices=(3, 0)`` returned
the stages in stage order, a misspelt arch key fell back to the default).
Each check raises ``ValueError`` (``TypeError`` for a value of the wrong type)
that names the argument, the allowed range and the value given.
"""
from numbers import Real
from typing import Dict, Iterable, Sequence, Tuple, Union


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_out_indices(out_indices: Union[int, Sequence[int]], num_stages: int,
                      layout: str = '') -> Tuple[int, ...]:
    """Stage indices to return, negative ones counted from the end.

    Args:
        out_indices: an int or a sequence of ints in ``-num_stages..num_stages-1``.
        num_stages: number of stages of the backbone.
        layout: appended to the error message (e.g. which index is which stage).

    Returns:
        The non-negative indices, strictly increasing (the order of the outputs).

    Raises:
        ValueError: empty, out of range, repeated or not increasing indices.
    """
    indices = (out_indices, ) if _is_int(out_indices) else tuple(out_indices)
    if not indices or not all(_is_int(i) for i in indices):
        raise ValueError(f'out_indices must be one or more stage indices (ints), got '
                         f'{out_indices!r}')
    resolved = tuple(i + num_stages if i < 0 else i for i in indices)
    if any(i not in range(num_stages) for i in resolved):
        raise ValueError(f'out_indices must be stage indices in 0..{num_stages - 1} or '
                         f'-{num_stages}..-1{layout}, got {tuple(indices)}')
    if any(a >= b for a, b in zip(resolved, resolved[1:])):
        raise ValueError(f'out_indices {tuple(indices)} (stages {resolved}) must be increasing '
                         'and without repeats: the outputs come in stage order, one per stage')
    return resolved


def check_frozen_stages(frozen_stages: int, num_stages: int) -> int:
    """``frozen_stages``: stages ``0..frozen_stages`` are frozen; -1 freezes none.

    Raises:
        ValueError: not an int in ``-1..num_stages-1`` (a value below -1 would
            otherwise slice stages from the end).
    """
    if not _is_int(frozen_stages) or not -1 <= frozen_stages < num_stages:
        raise ValueError(f'frozen_stages={frozen_stages!r} is out of range: use -1 (train all '
                         f'stages) or a stage index in 0..{num_stages - 1} (freeze stages 0 '
                         'up to it)')
    return frozen_stages


def check_arch_dict(arch, owner: str, required: Iterable[str], defaults: Dict[str, object],
                    example: str) -> dict:
    """A custom arch dict with every key known, the defaults filled in.

    Also checks ``num_heads`` and ``depth`` (positive ints) and ``mlp_ratio``
    (a positive number) when present; the backbone checks its own dims.

    Raises:
        TypeError: ``arch`` is not a dict.
        ValueError: a required key is missing, a key is unknown (e.g. ``depth``
            for ``depths``), ``num_heads``, ``depth`` or ``mlp_ratio`` is not positive.
    """
    if not isinstance(arch, dict):
        raise TypeError(f'{owner} arch must be a str or dict, got {type(arch).__name__}')
    required = set(required)
    known = required | set(defaults)
    missing, unknown = required - set(arch), set(arch) - known
    if missing or unknown:
        problem = (f'is missing {sorted(missing)}' if missing else
                   f'has unknown keys {sorted(unknown)}')
        raise ValueError(f'custom {owner} arch {problem} (its keys are {sorted(known)}); '
                         f'example: {example}')
    arch = dict(defaults, **arch)
    for key in ('num_heads', 'depth'):
        value = arch.get(key, 1)
        if not _is_int(value) or value < 1:
            raise ValueError(f'{owner} arch {key}={value!r} must be a positive int')
    ratio = arch.get('mlp_ratio', 1)
    if isinstance(ratio, bool) or not isinstance(ratio, Real) or ratio <= 0:
        raise ValueError(f'{owner} arch mlp_ratio={ratio!r} must be a positive number')
    return arch


def check_flag(value, name: str) -> bool:
    """A switch such as ``with_cp``: ``True`` or ``False`` only.

    Raises:
        TypeError: anything else (a string ``'False'`` or an int would be
            truthy / ambiguous and silently switch the feature on or off).
    """
    if not isinstance(value, bool):
        raise TypeError(f'{name} must be True or False, got {value!r} '
                        f'({type(value).__name__}); e.g. --cfg-options model.backbone.{name}=True')
    return value
