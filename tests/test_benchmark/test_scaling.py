"""tools/benchmark/scaling.py: 1- and 2-process training steps, images/s and efficiency."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'benchmark', 'scaling.py')


def _tool():
    sys.path.insert(0, osp.dirname(TOOL))  # the tool imports benchmark_model from its folder
    try:
        spec = importlib.util.spec_from_file_location('scaling_tool', TOOL)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(osp.dirname(TOOL))
    return module


@pytest.mark.slow
def test_scaling_reports_images_per_second_and_efficiency(tmp_path):
    out = tmp_path / 'scaling.json'
    subprocess.run([sys.executable, TOOL, 'configs/cls/qsd_t_demo_digits.py', '--nprocs', '1',
                    '2', '--batch-size', '2', '--input-size', '32', '--warmup', '0',
                    '--repeats', '2', '--no-sync', '--out-json', str(out)],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    report = json.loads(out.read_text())
    one, two = report['rounds'][0]
    assert (one['nprocs'], two['nprocs']) == (1, 2)
    for result in (one, two):
        step = result['step']
        assert 0 < step['min_s'] <= step['median_s'] <= step['max_s']
        assert result['images_per_s'] == pytest.approx(result['nprocs'] * 2 / step['median_s'])
        assert len(result['cpu_s_per_rank']) == len(result['peak_mem_mib_per_rank']) \
            == result['nprocs']
    assert two['efficiency'] == pytest.approx(two['images_per_s'] / (2 * one['images_per_s']))
    assert 'efficiency' not in one and 'no_sync' not in one and two['no_sync']['median_s'] > 0
    assert two['all_reduce']['median_s'] > 0 and 'all_reduce' not in one
    assert report['batch_size_per_process'] == 2 and report['machine']['logical_cpus'] >= 1


def test_machine_info_lists_only_isa_flags_the_cpu_has():
    info = _tool().machine_info()
    flags = set()
    if osp.exists('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            flags = {flag for line in f if line.startswith('flags') for flag in line.split()}
    assert set(info['isa']) <= flags and info['torch_cpu_capability']


@pytest.mark.parametrize('argv, message', [
    (['--nprocs', '0'], '--nprocs value must be at least 1'),
    (['--repeats', '0'], '--repeats'),
    (['--batch-size', '0'], '--batch-size must be at least 1'),
    (['--warmup', '-1'], '--warmup must be at least 0'),
])
def test_scaling_refuses_bad_counts(argv, message, capsys):
    with pytest.raises(SystemExit):
        _tool().parse_args(['configs/cls/qsd_t_demo_digits.py', *argv])
    assert message in capsys.readouterr().err
