"""Progress bars for long work (data conversion, analysis over a data set, checkpoint conversion).

One place decides how progress is shown: :func:`track` wraps an iterable in a
`rich <https://rich.readthedocs.io>`_ progress bar (``rich`` comes with mmengine)
drawn on standard error.  The bar is shown only where a person watches it: it is
quiet when standard error is not a terminal (logs, pipes, pytest) and when the
``CI`` environment variable is set, and ``MMQSD_PROGRESS=0``/``1`` forces it off/on.
"""
import os
import sys
from typing import Iterable, Iterator, Optional, TypeVar

Item = TypeVar('Item')


def progress_enabled() -> bool:
    """Whether :func:`track` draws a bar: ``MMQSD_PROGRESS`` if set, else a TTY outside CI."""
    forced = os.environ.get('MMQSD_PROGRESS')
    if forced is not None:
        return forced.strip().lower() not in ('0', 'false', 'no', 'off', '')
    if os.environ.get('CI', '').strip().lower() not in ('', '0', 'false'):
        return False
    return sys.stderr.isatty()


def track(items: Iterable[Item], description: str, total: Optional[int] = None) -> Iterator[Item]:
    """Yield ``items`` unchanged while a progress bar counts them (see :func:`progress_enabled`).

    Args:
        items: what to iterate over.
        description: the bar's label, e.g. ``'energy: images'``.
        total: the number of items when ``len(items)`` does not exist (else taken from it);
            without either, the bar counts up without an end.
    """
    if not progress_enabled():
        yield from items
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    if total is None and hasattr(items, '__len__'):
        total = len(items)
    columns = [TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(file=sys.stderr), transient=False) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)
