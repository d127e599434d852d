"""mmqsd.utils.progress: the bar is drawn only where a person watches, items pass unchanged."""
import io

import pytest

from mmqsd.utils import progress


def test_items_pass_unchanged_when_quiet(monkeypatch):
    monkeypatch.setenv('MMQSD_PROGRESS', '0')
    assert list(progress.track(iter(range(5)), 'count')) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize('env, tty, expected', [
    ({}, True, True),                       # a person at a terminal
    ({}, False, False),                     # a log file or a pipe
    ({'CI': 'true'}, True, False),          # CI, even with a pseudo-terminal
    ({'MMQSD_PROGRESS': '1'}, False, True),  # forced on
    ({'MMQSD_PROGRESS': '0'}, True, False),  # forced off
])
def test_progress_enabled(monkeypatch, env, tty, expected):
    for name in ('CI', 'MMQSD_PROGRESS'):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(progress.sys.stderr, 'isatty', lambda: tty, raising=False)
    assert progress.progress_enabled() is expected


def test_bar_is_drawn_on_stderr_when_enabled(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setenv('MMQSD_PROGRESS', '1')
    monkeypatch.setattr(progress.sys, 'stderr', stream)
    assert list(progress.track([1, 2, 3], 'convert: files')) == [1, 2, 3]
    text = stream.getvalue()
    assert 'convert: files' in text and '3/3' in text
