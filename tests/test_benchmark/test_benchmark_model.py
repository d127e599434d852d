import json
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_benchmark_cli_compare_writes_all_modes(tmp_path):
    out = tmp_path / 'bench.json'
    cfg = 'configs/cls/qsd_t_demo_digits.py'
    subprocess.run([sys.executable, 'tools/benchmark/benchmark_model.py', cfg, '--compare', cfg,
                    '--modes', 'train', 'infer', 'spike', 'integer', '--batch-size', '2', '--input-size',
                    '32', '--warmup', '0', '--repeats', '1', '--out-json', str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    report = json.loads(out.read_text())
    for mode in ('train', 'infer', 'spike', 'integer'):
        row = report['results'][cfg][mode]
        assert row['median_s'] > 0 and row['peak_mem_mib'] > 0
        assert row['min_s'] <= row['median_s'] <= row['max_s']
    assert set(report['ratio']) == set(report['cpu_ratio']) == {'train', 'infer', 'spike', 'integer'}
