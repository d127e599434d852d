import json
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODES = ('train', 'infer', 'spike', 'integer', 'spike-integer')


def _run(tmp_path, *args):
    out = tmp_path / 'bench.json'
    subprocess.run([sys.executable, 'tools/benchmark/benchmark_model.py', *args,
                    '--batch-size', '2', '--input-size', '32', '--warmup', '0', '--repeats', '1',
                    '--out-json', str(out)], cwd=ROOT, check=True, capture_output=True)
    return json.loads(out.read_text())


def test_benchmark_cli_compare_writes_all_modes(tmp_path):
    cfg = 'configs/cls/qsd_t_demo_digits.py'
    report = _run(tmp_path, cfg, '--compare', cfg, '--modes', *MODES)
    for mode in MODES:
        row = report['results'][cfg][mode]
        assert row['median_s'] > 0 and row['peak_mem_mib'] > 0
        assert row['min_s'] <= row['median_s'] <= row['max_s']
    assert set(report['ratio']) == set(report['cpu_ratio']) == set(MODES)


def test_benchmark_compares_a_config_with_changed_options(tmp_path):
    """--compare-cfg-options alone: the same config, e.g. with full-precision weights."""
    cfg = 'configs/cls/qsd_t_demo_digits.py'
    report = _run(tmp_path, cfg, '--modes', 'train', '--compare-cfg-options',
                  'model.backbone.weight_bits=None', 'model.head.weight_bits=None')
    names = list(report['results'])
    assert names[0] == cfg and names[1].startswith(cfg + ' model.backbone.weight_bits=None')
    assert report['ratio']['train'] > 0


def test_int8_kernel_benchmark_times_every_backend():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'int8_kernels_tool', osp.join(ROOT, 'tools/benchmark/int8_kernels.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    from mmqsd.ops.int8_kernels import onednn_available
    backends = (['onednn'] if onednn_available() else []) + ['int_mm']
    for shape in (('tiny 3x3', 1, 4, 6, 8, 3, 1), ('tiny 1x1', 1, 4, 6, 8, 1, 1)):
        row = tool.time_shape(shape, 1, backends)
        assert row['fp32_ms'] > 0 and all(row[f'{b}_ms'] > 0 for b in backends)


def test_integer_modes_report_int8_throughput_as_a_fraction_of_the_peak(tmp_path):
    cfg = 'configs/cls/qsd_t_demo_digits.py'
    report = _run(tmp_path, cfg, '--modes', 'integer', 'spike-integer', '--int8-peak', '0.5')
    for mode in ('integer', 'spike-integer'):
        row = report['results'][cfg][mode]
        assert row['int8_gmac'] > 0 and row['float_gmac'] > 0
        assert row['achieved_int8_tops'] == pytest.approx(
            2 * row['int8_gmac'] * 1e9 / row['median_s'] / 1e12, rel=1e-2)
        assert row['fraction_of_int8_peak'] == pytest.approx(row['achieved_int8_tops'] / 0.5)
    # the spike-driven form reads each count as b binary spikes: b times the int8 MACs
    assert report['results'][cfg]['spike-integer']['int8_gmac'] > \
        report['results'][cfg]['integer']['int8_gmac']


def test_int8_kernels_reports_the_peak(tmp_path):
    out = tmp_path / 'int8.json'
    subprocess.run([sys.executable, 'tools/benchmark/int8_kernels.py', '--repeats', '1',
                    '--threads', '1', '--out-json', str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    report = json.loads(out.read_text())
    best = max(row[f'{b}_tops'] for row in report['rows'] for b in ('onednn', 'int_mm')
               if f'{b}_tops' in row)
    assert report['peak']['tops'] == best > 0
    for row in report['rows']:
        for backend in ('onednn', 'int_mm'):
            if f'{backend}_ms' in row:
                assert row[f'{backend}_tops'] == pytest.approx(
                    2 * row['gmac'] / row[f'{backend}_ms'])


@pytest.mark.parametrize('script, args', [
    ('benchmark_model.py', ['configs/cls/qsd_t_demo_digits.py', '--int8-peak', 'abc']),
    ('benchmark_model.py', ['configs/cls/qsd_t_demo_digits.py', '--int8-peak', '0']),
    ('benchmark_model.py', ['configs/cls/qsd_t_demo_digits.py', '--int8-peak', 'nan']),
    ('benchmark_model.py', ['configs/cls/qsd_t_demo_digits.py', '--profile', '-1']),
    ('int8_kernels.py', ['--repeats', '0']),
    ('int8_kernels.py', ['--threads', '0']),
])
def test_bad_arguments_are_refused_before_any_work(script, args):
    result = subprocess.run([sys.executable, f'tools/benchmark/{script}', *args], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert 'error: argument' in result.stderr and 'Traceback' not in result.stderr
