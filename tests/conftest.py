"""Fixtures shared by every test folder."""
import glob
import os.path as osp
import subprocess
import sys

import pytest

#: Loads every checkpoint named on the command line the way ``--resume``, ``tools/test.py``
#: and ``mmseg/mmdet/mmpretrain.apis.init_model`` do: ``torch.load`` with its default
#: ``weights_only=True``, in a process that imported nothing but torch and mmqsd.
_LOAD_ALL = """
import sys, torch, mmqsd
for path in sys.argv[1:]:
    torch.load(path, map_location='cpu')
print(len(sys.argv) - 1)
"""


def _load_in_fresh_process(work_dir, pattern='*.pth'):
    paths = sorted(glob.glob(osp.join(work_dir, pattern)))
    assert paths, f'no {pattern} in {work_dir}'
    proc = subprocess.run([sys.executable, '-c', _LOAD_ALL, *paths], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-1] == str(len(paths))
    return paths


@pytest.fixture(scope='session')
def load_checkpoints_fresh():
    """``load_checkpoints_fresh(work_dir, pattern='*.pth')``: load every matching checkpoint
    with ``weights_only=True`` in a fresh process; returns the paths (fails if none)."""
    return _load_in_fresh_process
