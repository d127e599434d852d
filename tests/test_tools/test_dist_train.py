"""Two-process CPU data-parallel training and testing through tools/dist_*.sh (torchrun, gloo)."""
import os.path as osp
import re
import socket

import pytest

pytestmark = pytest.mark.slow


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


GLOO = ('--cfg-options', 'env_cfg.dist_cfg.backend=gloo')


def test_dist_train_and_test_two_cpu_processes(tiny_config, tmp_path, run_tool):
    proc = run_tool('tools/dist_train.sh', tiny_config, '2', '--work-dir', str(tmp_path), *GLOO,
                    env=dict(PORT=_free_port()))
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log
    assert re.search(r'Epoch\(train\)\s+\[1\]\[2/2\]', log)  # 32 images / (2 ranks x 8)
    ckpt = str(tmp_path / 'epoch_1.pth')
    assert osp.isfile(ckpt)

    proc = run_tool('tools/dist_test.sh', tiny_config, ckpt, '2', '--work-dir', str(tmp_path),
                    *GLOO, env=dict(PORT=_free_port()))
    metrics = re.findall(r'^accuracy/top1: \d+\.\d\d$', proc.stdout, flags=re.M)
    assert len(metrics) == 1  # printed by rank 0 only


def test_dist_scripts_print_usage(run_tool):
    for script in ('tools/dist_train.sh', 'tools/dist_test.sh', 'tools/slurm_train.sh'):
        proc = run_tool(script, check=False)
        assert proc.returncode == 2 and 'usage:' in proc.stderr
