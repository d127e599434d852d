"""Shared fixtures for the command-line tool tests: demo data and a tiny config."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmqsd.datasets.demo_data import make_digits

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(ROOT, 'configs', 'cls', 'qsd_t_demo_digits.py')

# A 4-iteration epoch of a tiny QSD model on 32 digits (16 for validation).
TINY_CONFIG = """
_base_ = [{base!r}]
model = dict(
    backbone=dict(arch=dict(embed_dims=[8, 16, 32, 32], num_heads=2, depths=(1, 1))),
    head=dict(in_channels=32))
loader = dict(batch_size=8, num_workers=0, persistent_workers=False)
train_dataloader = dict(**loader, dataset=dict(data_root={root!r}, indices=32))
val_dataloader = dict(**loader, dataset=dict(data_root={root!r}, indices=16))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, save_best='accuracy/top1'))
"""


@pytest.fixture(scope='session')
def digits_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'demo_digits')
    make_digits(root)
    return root


@pytest.fixture(scope='session')
def tiny_config(digits_root, tmp_path_factory):
    path = tmp_path_factory.mktemp('configs') / 'tiny_digits.py'
    path.write_text(TINY_CONFIG.format(base=DEMO_CONFIG, root=digits_root))
    return str(path)


@pytest.fixture(scope='session')
def demo_config():
    return DEMO_CONFIG


@pytest.fixture(scope='session')
def repo_root():
    return ROOT


def _run_tool(*args, env=None, check=True):
    cmd = ['bash', *args] if args[0].endswith('.sh') else [sys.executable, *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f'{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-5000:]}')
    return proc


@pytest.fixture(scope='session')
def run_tool():
    """``run_tool(*args, env=None, check=True)``: run ``python ARGS`` (or ``bash X.sh ARGS``)
    from the repository root and return the completed process; ``check`` fails the
    test with the tail of the output on a non-zero exit."""
    return _run_tool
