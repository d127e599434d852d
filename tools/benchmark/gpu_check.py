#!/usr/bin/env python
"""GPU check: the CUDA tests and QSD-T/L benchmarks in steps, summarised as one JSON.

Driven by ``tools/benchmark/gpu_check.sh`` (which first finds or installs the project's
Python); usable on its own::

    python tools/benchmark/gpu_check.py --python .venv/bin/python --budget-s 450
    python tools/benchmark/gpu_check.py --dry-run            # the plan, nothing run
    python tools/benchmark/gpu_check.py --device cpu --quick # tiny model, for testing

Steps, in order (each a subprocess of ``--python`` with its own timeout; a failing or
timed-out step is recorded and the next one runs):

* ``environment``: device name, memory, compute capability, torch / CUDA / cuDNN
  versions, TF32 settings, whether ``torch._int_mm`` runs, package versions;
* ``tests``: ``pytest tests/test_cuda`` (``_int_mm`` and int8 synapses bit-exact
  against the CPU, integer and spike-driven forms, fp32 and bf16 training steps);
* ``bench-<arch>-b<N>-fp32``: ``benchmark_model.py --device cuda`` modes ``train`` (fp32),
  ``infer``, ``infer-bf16``, ``integer`` and ``spike-integer`` (the integer forms run on
  the ``torch._int_mm`` backend on CUDA);
* ``bench-<arch>-b<N>-bf16``: the ``train`` mode with ``mmqsd.BF16AutocastOptimWrapper``.

Steps run while the time budget (``--budget-s``) lasts; a step's timeout is its own
limit or what is left of the budget, whichever is less, and steps that no longer fit
are recorded as skipped.  This file imports only the standard library at module level
(it runs under any Python 3 even when the project's environment is broken); the
``--worker`` modes run inside the project's environment.
"""
import argparse
import datetime
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCHEMA = 'mmqsd-gpu-check/1'
CONFIGS = {'qsd_t': 'configs/cls/qsd_t_in1k.py', 'qsd_l': 'configs/cls/qsd_l_in1k.py'}
QUICK_CONFIG = 'configs/cls/qsd_t_demo_digits.py'
FP32_MODES = ('train', 'infer', 'infer-bf16', 'integer', 'spike-integer')
BF16_WRAPPER = 'optim_wrapper.type=mmqsd.BF16AutocastOptimWrapper'
#: A step is not started with less budget than this (seconds).
MIN_STEP_S = 15
TAIL_CHARS = 2000


# ------------------------------------------------------------------------------- plan
def plan_steps(args):
    """The steps to run: dicts with ``name``, ``kind``, ``argv`` (without the Python) and
    ``timeout_s``, plus ``config`` / ``batch_size`` / ``precision`` for benchmarks."""
    steps = [dict(name='environment', kind='environment', timeout_s=60,
                  argv=[osp.join('tools', 'benchmark', 'gpu_check.py'), '--worker',
                        'environment', '--device', args.device])]
    steps.append(dict(name='tests', kind='tests', timeout_s=180 if not args.quick else 120,
                      argv=['-m', 'pytest', 'tests/test_cuda', '-q', '-rs', '-p',
                            'no:cacheprovider']))
    if args.quick:
        archs, sizes, input_size, warmup, repeats = ['quick'], [2], 32, 0, 1
    else:
        archs, sizes = args.archs, args.batch_sizes
        input_size, warmup, repeats = args.input_size, args.warmup, args.repeats
    for batch in sizes:
        for arch in archs:
            config = QUICK_CONFIG if arch == 'quick' else CONFIGS[arch]
            scale = (2 if arch == 'qsd_l' else 1) * (1 + batch // 32)
            common = [osp.join('tools', 'benchmark', 'benchmark_model.py'), config, '--device',
                      args.device, '--batch-size', str(batch), '--input-size', str(input_size),
                      '--warmup', str(warmup), '--repeats', str(repeats)]
            for precision, extra, limit in (
                    ('fp32', ['--modes', *FP32_MODES], 90),
                    ('bf16', ['--modes', 'train', '--cfg-options', BF16_WRAPPER], 45)):
                steps.append(dict(name=f'bench-{arch.replace("_", "-")}-b{batch}-{precision}',
                                  kind='benchmark', argv=common + extra,
                                  timeout_s=limit * scale, config=config, batch_size=batch,
                                  input_size=input_size, precision=precision))
    if args.steps:
        steps = [s for s in steps if s['name'] in args.steps]
    return steps


# ---------------------------------------------------------------------------- results
def parse_junit(path):
    """Counts (``total``, ``passed``, ``failed``, ``errors``, ``skipped``) and the failed
    tests (name and the first line of the message) of a pytest ``--junitxml`` file."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else list(root.iter('testsuite'))
    counts = dict(total=0, failed=0, errors=0, skipped=0)
    failures, skip_reasons = [], {}
    for suite in suites:
        for case in suite.iter('testcase'):
            counts['total'] += 1
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            for tag, key in (('failure', 'failed'), ('error', 'errors'), ('skipped', 'skipped')):
                found = case.find(tag)
                if found is None:
                    continue
                counts[key] += 1
                message = (found.get('message') or found.text or '').strip().splitlines()
                message = message[0][:300] if message else ''
                if tag == 'skipped':
                    skip_reasons[message] = skip_reasons.get(message, 0) + 1
                else:
                    failures.append(dict(test=name, message=message))
                break
    counts['passed'] = counts['total'] - counts['failed'] - counts['errors'] - counts['skipped']
    return dict(counts, failures=failures[:30], skip_reasons=skip_reasons)


def benchmark_figures(report, step):
    """Rows ``{model, batch_size, mode, precision, median_s, ...}`` of a benchmark_model.py
    ``--out-json`` report."""
    rows = []
    for config, modes in report.get('results', {}).items():
        for mode, result in modes.items():
            precision = step['precision'] if mode == 'train' else \
                {'infer-bf16': 'bf16', 'integer': 'int8', 'spike-integer': 'int8'}.get(mode,
                                                                                     'fp32')
            rows.append(dict(model=osp.splitext(osp.basename(config.split()[0]))[0],
                             batch_size=step['batch_size'], input_size=step['input_size'],
                             mode=mode, precision=precision, **result))
    return rows


def _tail(text):
    return text[-TAIL_CHARS:] if text else ''


def run_step(step, python, log_dir, timeout_s):
    """Run one step (``timeout_s`` seconds at most); the step's record."""
    record = dict(name=step['name'], kind=step['kind'], timeout_s=round(timeout_s, 1))
    extra = []
    if step['kind'] == 'tests':
        junit = osp.join(log_dir, f"{step['name']}.junit.xml")
        extra = ['--junitxml', junit]
    elif step['kind'] == 'benchmark':
        result_json = osp.join(log_dir, f"{step['name']}.json")
        extra = ['--out-json', result_json]
        record.update(config=step['config'], batch_size=step['batch_size'],
                      precision=step['precision'])
    argv = [python, *step['argv'], *extra]
    record['command'] = shlex.join(argv)
    log_path = osp.join(log_dir, f"{step['name']}.log")
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout_s, env=dict(os.environ, PYTHONUNBUFFERED='1'))
        output, returncode = proc.stdout + proc.stderr, proc.returncode
        record['status'] = 'passed' if returncode == 0 else 'failed'
    except subprocess.TimeoutExpired as exc:
        output = ''.join(x.decode(errors='replace') if isinstance(x, bytes) else (x or '')
                         for x in (exc.stdout, exc.stderr))
        returncode = None
        record['status'] = 'timeout'
    except OSError as exc:  # the Python itself is missing
        output, returncode = f'{type(exc).__name__}: {exc}', None
        record['status'] = 'failed'
    record['seconds'] = round(time.perf_counter() - start, 2)
    record['returncode'] = returncode
    with open(log_path, 'w') as f:
        f.write(output)
    record['log'] = log_path
    _read_results(step, record, output, extra)
    if record['status'] != 'passed':  # the full output is in the log
        record['output_tail'] = _tail(output)
    return record


def _read_results(step, record, output, extra):
    """Attach what the step produced (environment facts, test counts, benchmark figures)."""
    try:
        if step['kind'] == 'environment':
            line = next((ln for ln in output.splitlines() if ln.startswith('GPU_CHECK_JSON ')),
                        None)
            if line:
                record['environment'] = json.loads(line.split(' ', 1)[1])
        elif step['kind'] == 'tests' and osp.exists(extra[1]):
            record['tests'] = parse_junit(extra[1])
            if record['status'] == 'passed' and record['tests']['total'] == 0:
                record['status'], record['reason'] = 'failed', 'no tests collected'
        elif step['kind'] == 'benchmark' and osp.exists(extra[1]):
            with open(extra[1]) as f:
                report = json.load(f)
            record['figures'] = benchmark_figures(report, step)
    except (ValueError, ET.ParseError, OSError) as exc:
        record['status'] = 'failed'
        record['reason'] = f'could not read the step results: {type(exc).__name__}: {exc}'


# ------------------------------------------------------------------------------ driver
def run_all(args, steps, log_dir):
    deadline = time.monotonic() + args.budget_s
    records = []
    cuda_missing = None
    for step in steps:
        left = deadline - time.monotonic()
        if args.dry_run:
            records.append(dict(name=step['name'], kind=step['kind'], status='planned',
                                timeout_s=step['timeout_s'],
                                command=shlex.join([args.python, *step['argv']])))
            continue
        if step['kind'] == 'benchmark' and cuda_missing:
            records.append(dict(name=step['name'], kind=step['kind'], status='skipped',
                                reason=cuda_missing))
            continue
        if left < MIN_STEP_S:
            records.append(dict(name=step['name'], kind=step['kind'], status='skipped',
                                reason=f'time budget spent ({left:.0f} s left of '
                                f'{args.budget_s:.0f} s)'))
            continue
        print(f"[gpu-check] {step['name']} ...", file=sys.stderr, flush=True)
        record = run_step(step, args.python, log_dir, min(step['timeout_s'], left))
        print(f"[gpu-check] {step['name']}: {record['status']} in {record['seconds']} s",
              file=sys.stderr, flush=True)
        records.append(record)
        env = record.get('environment')
        if step['kind'] == 'environment' and args.device == 'cuda' and \
                not (env or {}).get('cuda_available'):
            cuda_missing = 'CUDA is not available to the project\'s Python (see the ' \
                'environment step): a CPU-only torch build, no GPU or a driver too old for ' \
                f"torch's CUDA {(env or {}).get('torch_cuda')}"
    return records


def _command_output(argv):
    """First line of a command's output, or None where it is missing or fails."""
    try:
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = proc.stdout.strip().splitlines()
    return lines[0].strip() if proc.returncode == 0 and lines else None


def source_revision():
    """The commit checked out and whether the tree differs from it (None without git)."""
    commit = _command_output(['git', 'rev-parse', 'HEAD'])
    if commit is None:
        return None
    changed = _command_output(['git', 'status', '--porcelain', '--untracked-files=no'])
    return dict(commit=commit, modified=changed is not None)


def summarise(args, records, setup, started, wall_s, log_dir):
    env = next((r.get('environment') for r in records if r.get('environment')), None)
    tests = next((r.get('tests') for r in records if r.get('tests')), None)
    run = [r for r in records if r['status'] not in ('skipped', 'planned')]
    # benchmark rows move from their step into one table
    figures = [dict(step=r['name'], **row) for r in records for row in r.pop('figures', [])]
    device_ok = args.device == 'cpu' or bool((env or {}).get('cuda_available'))
    return dict(
        schema=SCHEMA,
        ok=bool(run) and all(r['status'] == 'passed' for r in run) and device_ok
        and setup.get('status') != 'failed' and not args.dry_run,
        complete=not args.dry_run and all(r['status'] != 'skipped' for r in records),
        dry_run=args.dry_run,
        started=started,
        wall_s=round(wall_s, 2),
        budget_s=args.budget_s,
        command=shlex.join([sys.executable, *sys.argv]),
        device=args.device,
        source=source_revision(),
        setup=setup,
        environment=env,
        tests=tests and {k: v for k, v in tests.items() if k != 'failures'},
        steps=records,
        figures=figures,
        logs=log_dir,
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--python', default=sys.executable,
                        help="the project's Python, which runs every step")
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    parser.add_argument('--archs', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument('--batch-sizes', nargs='+', type=int, default=[8, 32])
    parser.add_argument('--input-size', type=int, default=224)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--budget-s', type=float, default=450,
                        help='total seconds for all steps (default 450)')
    parser.add_argument('--steps', nargs='+', help='run only these steps (names as planned)')
    parser.add_argument('--quick', action='store_true',
                        help='the demo-size model, batch 2, 32x32, one repeat (tests the tool)')
    parser.add_argument('--dry-run', action='store_true', help='print the plan, run nothing')
    parser.add_argument('--out', help='also write the JSON here (default: $OUT/gpu_check.json '
                        'when $OUT is set)')
    parser.add_argument('--setup-status', default='not-run',
                        help='how gpu_check.sh got the environment (existing, installed, failed)')
    parser.add_argument('--setup-seconds', type=float, default=0.0)
    parser.add_argument('--setup-log', default='')
    parser.add_argument('--worker', choices=['environment'],
                        help=argparse.SUPPRESS)  # runs inside the project's environment
    args = parser.parse_args(argv)
    for size in args.batch_sizes:
        if size < 1:
            parser.error(f'--batch-sizes: {size} is not a positive batch size')
    if args.budget_s <= 0:
        parser.error(f'--budget-s {args.budget_s:g}: the time budget must be positive')
    known = {s['name'] for s in plan_steps(argparse.Namespace(**dict(vars(args), steps=None)))}
    unknown = sorted(set(args.steps or ()) - known)
    if unknown:
        parser.error(f'--steps: unknown step(s) {", ".join(unknown)}; planned steps are '
                     f'{", ".join(sorted(known))}')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker == 'environment':
        return environment_worker(args.device)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')
    start = time.perf_counter()
    out = args.out or (osp.join(os.environ['OUT'], 'gpu_check.json') if os.environ.get('OUT')
                       else None)
    log_dir = osp.join(osp.dirname(out), 'gpu_check_logs') if out else \
        tempfile.mkdtemp(prefix='gpu_check_')
    os.makedirs(log_dir, exist_ok=True)
    setup = dict(status=args.setup_status, seconds=args.setup_seconds, python=args.python)
    if args.setup_log and osp.exists(args.setup_log):
        with open(args.setup_log, errors='replace') as f:
            setup.update(log=args.setup_log, log_tail=_tail(f.read()))
    records = run_all(args, plan_steps(args), log_dir)
    summary = summarise(args, records, setup, started, time.perf_counter() - start, log_dir)
    text = json.dumps(summary, indent=2)
    if out:
        with open(out, 'w') as f:
            f.write(text + '\n')
    print(text)
    return 0


# ------------------------------------------------------------- inside the environment
def environment_worker(device):
    """Print ``GPU_CHECK_JSON {...}``: the machine, the GPU and the software stack."""
    import importlib.metadata as md
    import platform

    import torch
    info = dict(python=platform.python_version(), torch=torch.__version__,
                torch_cuda=torch.version.cuda, cuda_available=torch.cuda.is_available(),
                cpu=platform.processor() or platform.machine(), cpu_count=os.cpu_count(),
                cudnn=torch.backends.cudnn.version() if torch.backends.cudnn.is_available()
                else None,
                cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
                cuda_matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32,
                float32_matmul_precision=torch.get_float32_matmul_precision())
    for package in ('mmengine', 'mmcv', 'mmpretrain', 'mmdet', 'mmsegmentation', 'mmqsd'):
        try:
            info[package] = md.version(package)
        except md.PackageNotFoundError:
            info[package] = None
    from mmqsd.ops.int8_kernels import int8_backend, onednn_available
    info['onednn_int8'] = onednn_available()
    if info['cuda_available']:
        index = torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        info.update(device_name=torch.cuda.get_device_name(index), device_count=torch.cuda.
                    device_count(), capability='%d.%d' % torch.cuda.get_device_capability(index),
                    memory_gib=round(props.total_memory / 2**30, 1),
                    bf16_supported=torch.cuda.is_bf16_supported(),
                    driver=_command_output(['nvidia-smi', '--query-gpu=driver_version',
                                            '--format=csv,noheader']))
    target = torch.device(device if device == 'cpu' or info['cuda_available'] else 'cpu')
    info['int8_backend'] = int8_backend(target)
    try:  # the int8 GEMM the integer forms run on
        a = torch.ones(32, 32, dtype=torch.int8, device=target)
        info['int_mm'] = bool((torch._int_mm(a, a) == 32).all())
    except RuntimeError as exc:
        info['int_mm'] = f'{type(exc).__name__}: {exc}'.splitlines()[0]
    print('GPU_CHECK_JSON ' + json.dumps(info))
    return 0


if __name__ == '__main__':
    sys.exit(main())
