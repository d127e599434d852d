"""tools/benchmark/fgd_overhead.py runs both modes and reports ratios (tiny settings)."""
import json
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.slow
def test_fgd_overhead_cli_writes_both_modes(tmp_path):
    out = tmp_path / 'fgd.json'
    subprocess.run([sys.executable, 'tools/benchmark/fgd_overhead.py', '--batch-size', '1',
                    '--input-size', '32', '--warmup', '0', '--repeats', '1', '--threads', '1',
                    '--out-json', str(out)], cwd=ROOT, check=True, capture_output=True)
    report = json.loads(out.read_text())
    for mode in ('plain', 'fgd'):
        row = report['results'][mode]
        assert row['median_s'] > 0 and row['median_cpu_s'] > 0 and row['peak_mem_mib'] > 0
    assert report['time_ratio'] > 0 and report['cpu_time_ratio'] > 0
    assert report['extra_peak_mem_mib'] == pytest.approx(
        report['results']['fgd']['peak_mem_mib'] - report['results']['plain']['peak_mem_mib'],
        abs=0.1)
