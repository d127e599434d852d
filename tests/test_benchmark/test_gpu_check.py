"""tools/benchmark/gpu_check.{sh,py}: the parts that run without a GPU.

The step runner, the budget, the JSON summary and the shell wrapper's set-up are checked
here on the CPU; the CUDA tests the script runs are tests/test_cuda.
"""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'benchmark', 'gpu_check.sh')
SUMMARY_KEYS = {'schema', 'ok', 'complete', 'dry_run', 'started', 'wall_s', 'budget_s', 'command',
                'device', 'source', 'setup', 'environment', 'tests', 'steps', 'figures', 'logs'}
FIGURE_KEYS = {'model', 'batch_size', 'input_size', 'mode', 'precision', 'median_s', 'min_s',
               'max_s', 'images_per_s', 'peak_mem_mib', 'repeats'}


def _load_driver():
    spec = importlib.util.spec_from_file_location(
        'gpu_check', osp.join(ROOT, 'tools', 'benchmark', 'gpu_check.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gpu_check = _load_driver()


def test_shell_script_syntax():
    subprocess.run(['bash', '-n', SCRIPT], check=True)


def test_dry_run_plans_every_step_within_the_budget(capsys, tmp_path):
    out = tmp_path / 'gpu_check.json'
    gpu_check.main(['--dry-run', '--out', str(out)])
    summary = json.loads(out.read_text())
    assert json.loads(capsys.readouterr().out) == summary
    assert set(summary) == SUMMARY_KEYS and summary['schema'] == gpu_check.SCHEMA
    assert summary['dry_run'] and not summary['ok'], 'a plan is not a passed check'
    names = [s['name'] for s in summary['steps']]
    assert names[:2] == ['environment', 'tests']
    for arch in ('qsd-t', 'qsd-l'):
        for batch in (8, 32):
            assert {f'bench-{arch}-b{batch}-fp32', f'bench-{arch}-b{batch}-bf16'} <= set(names)
    assert all(s['status'] == 'planned' for s in summary['steps'])
    fp32 = next(s for s in summary['steps'] if s['name'] == 'bench-qsd-t-b8-fp32')
    assert '--device cuda' in fp32['command']
    assert 'train infer infer-bf16 integer spike-integer' in fp32['command']
    bf16 = next(s for s in summary['steps'] if s['name'] == 'bench-qsd-t-b8-bf16')
    assert bf16['command'].endswith('optim_wrapper.type=mmqsd.BF16AutocastOptimWrapper')


@pytest.mark.parametrize('argv,message', [
    (['--steps', 'bench-nope'], 'unknown step'),
    (['--batch-sizes', '0'], 'not a positive batch size'),
    (['--budget-s', '0'], 'budget must be positive'),
])
def test_bad_arguments_are_refused(capsys, argv, message):
    with pytest.raises(SystemExit):
        gpu_check.parse_args(argv)
    assert message in capsys.readouterr().err


def _fake_step(name, kind, code, timeout_s=30):
    return dict(name=name, kind=kind, timeout_s=timeout_s, argv=['-c', textwrap.dedent(code)])


def test_failures_and_timeouts_are_recorded_and_the_next_steps_run(tmp_path):
    args = gpu_check.parse_args(['--device', 'cpu', '--budget-s', '60'])
    steps = [_fake_step('slow', 'environment', 'import time; time.sleep(30)', timeout_s=1),
             _fake_step('broken', 'environment', 'raise SystemExit(3)'),
             _fake_step('environment', 'environment',
                        'print(\'GPU_CHECK_JSON {"cuda_available": false}\')')]
    records = gpu_check.run_all(args, steps, str(tmp_path))
    assert [r['status'] for r in records] == ['timeout', 'failed', 'passed']
    assert records[0]['seconds'] < 10 and records[1]['returncode'] == 3
    assert records[2]['environment'] == {'cuda_available': False}
    assert osp.exists(records[1]['log'])


def test_steps_beyond_the_budget_are_skipped(tmp_path):
    args = gpu_check.parse_args(['--device', 'cpu', '--budget-s', '5'])
    steps = [_fake_step('environment', 'environment', 'pass')]
    record, = gpu_check.run_all(args, steps, str(tmp_path))
    assert record['status'] == 'skipped' and 'time budget spent' in record['reason']


def test_benchmarks_are_skipped_when_cuda_is_missing(tmp_path):
    args = gpu_check.parse_args(['--budget-s', '60'])  # --device cuda
    steps = [_fake_step('environment', 'environment',
                        'print(\'GPU_CHECK_JSON {"cuda_available": false, "torch_cuda": null}\')'),
             dict(_fake_step('bench', 'benchmark', 'raise SystemExit(1)'), config='c',
                  batch_size=8, input_size=224, precision='fp32')]
    records = gpu_check.run_all(args, steps, str(tmp_path))
    assert records[1]['status'] == 'skipped' and 'CUDA is not available' in records[1]['reason']
    summary = gpu_check.summarise(args, records, dict(status='existing'), 'now', 1.0, '')
    assert not summary['ok'], 'no GPU is not a passed GPU check'
    assert not summary['complete']


def test_junit_counts_and_failures(tmp_path):
    path = tmp_path / 'junit.xml'
    path.write_text(textwrap.dedent('''\
        <testsuites><testsuite name="pytest" tests="4">
          <testcase classname="tests.a" name="test_ok"/>
          <testcase classname="tests.a" name="test_bad"><failure message="assert 1 == 2">
            trace</failure></testcase>
          <testcase classname="tests.a" name="test_err"><error message="boom"/></testcase>
          <testcase classname="tests.a" name="test_skip"><skipped message="no CUDA"/></testcase>
        </testsuite></testsuites>'''))
    result = gpu_check.parse_junit(str(path))
    assert {k: result[k] for k in ('total', 'passed', 'failed', 'errors', 'skipped')} == \
        dict(total=4, passed=1, failed=1, errors=1, skipped=1)
    assert result['failures'] == [dict(test='tests.a::test_bad', message='assert 1 == 2'),
                                  dict(test='tests.a::test_err', message='boom')]
    assert result['skip_reasons'] == {'no CUDA': 1}


def test_shell_dry_run_without_an_environment_writes_the_json(tmp_path):
    """No usable venv: a dry run says it would install (and installs nothing)."""
    env = dict(os.environ, OUT=str(tmp_path), MMQSD_VENV=str(tmp_path / 'no-venv'))
    proc = subprocess.run(['bash', SCRIPT, '--dry-run'], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / 'gpu_check.json').read_text())
    assert json.loads(proc.stdout) == summary
    assert summary['setup']['status'] == 'would-install'
    assert 0 < summary['budget_s'] <= 480
    assert not (tmp_path / 'no-venv').exists()


@pytest.mark.slow
def test_quick_cpu_run_end_to_end(tmp_path):
    """The script on the CPU with the demo-size model (the bf16 training step, the same
    runner as fp32, left out for time): every step passes, the CUDA tests are skipped with
    their reason, and each mode has figures."""
    env = dict(os.environ, OUT=str(tmp_path), MMQSD_VENV=sys.prefix, OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', SCRIPT, '--device', 'cpu', '--quick', '--steps', 'environment',
                           'tests', 'bench-quick-b2-fp32'], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / 'gpu_check.json').read_text())
    assert summary['ok'] and summary['complete'], \
        [(s['name'], s.get('output_tail')) for s in summary['steps']]
    assert summary['setup']['status'] == 'existing'
    assert summary['environment']['torch'] and summary['environment']['int_mm'] is True
    tests = summary['tests']
    assert tests['total'] > 0 and tests['failed'] == tests['errors'] == 0
    if tests['skipped']:
        assert all('CUDA is not available' in reason for reason in tests['skip_reasons'])
    modes = {(f['mode'], f['precision']) for f in summary['figures']}
    assert modes == {('train', 'fp32'), ('infer', 'fp32'), ('infer-bf16', 'bf16'),
                     ('integer', 'int8'), ('spike-integer', 'int8')}
    for figure in summary['figures']:
        assert set(figure) >= FIGURE_KEYS and figure['median_s'] > 0
    assert osp.exists(tmp_path / 'gpu_check_logs' / 'tests.log')
