#!/usr/bin/env python
"""Extra time and peak memory of an FGD training step over a plain one (QSD-T by default).

A training step is what the Runner does per iteration: forward in ``loss``
mode (for FGD: the teacher's backbone under ``no_grad``, the student, the
Eq. 13 loss), ``parse_losses``, backward and the optimizer step of the
config's ``optim_wrapper``.  Each mode runs in a fresh child process, so that
its peak resident memory (sampled during the timed steps, as in
``benchmark_model.py``) is its own; ``--warmup`` untimed steps precede
``--repeats`` timed ones and medians are reported, of wall and of process CPU
time (the fairer number on a shared machine).  The distiller's teacher keeps
its initial weights: the cost does not depend on them.

Example::

    python tools/benchmark/fgd_overhead.py --batch-size 8 --input-size 224
"""
import argparse
import json
import subprocess
import sys

import torch
from mmengine.optim import build_optim_wrapper

from benchmark_model import _timed  # tools/benchmark is on sys.path when run as a script
from mmqsd.apis import build_model_from_config

PLAIN = 'configs/cls/qsd_t_in1k.py'
FGD = 'configs/cls/qsd_t_fgd_in1k.py'


def train_step_fn(model, batch_size, input_size):
    """One Runner-style training iteration on random images, as a closure."""
    from mmpretrain.structures import DataSample
    optim_wrapper = build_optim_wrapper(model, model.cfg.optim_wrapper)
    inputs = torch.randn(batch_size, 3, input_size, input_size)
    samples = [DataSample().set_gt_label(i) for i in range(batch_size)]

    def step():
        model.train()
        loss, _ = model.parse_losses(model(inputs, samples, mode='loss'))
        optim_wrapper.update_params(loss)
    return step


def run_child(args):
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    options = dict(model=dict(teacher_ckpt=None)) if args.child == 'fgd' else None
    model = build_model_from_config(FGD if args.child == 'fgd' else PLAIN, options)
    result = _timed(train_step_fn(model, args.batch_size, args.input_size), args.warmup,
                    args.repeats, 'cpu')
    print(json.dumps(result))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--input-size', type=int, default=224)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, help='torch.set_num_threads')
    parser.add_argument('--out-json')
    parser.add_argument('--child', choices=['plain', 'fgd'], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return run_child(args)
    forwarded = ['--batch-size', str(args.batch_size), '--input-size', str(args.input_size),
                 '--warmup', str(args.warmup), '--repeats', str(args.repeats)]
    if args.threads:
        forwarded += ['--threads', str(args.threads)]
    results = {}
    for mode in ('plain', 'fgd'):
        proc = subprocess.run([sys.executable, __file__, '--child', mode, *forwarded],
                              capture_output=True, text=True, check=True)
        results[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    plain, fgd = results['plain'], results['fgd']
    report = dict(
        plain_config=PLAIN, fgd_config=FGD, batch_size=args.batch_size,
        input_size=args.input_size, threads=args.threads or torch.get_num_threads(),
        torch=torch.__version__, results=results,
        time_ratio=fgd['median_s'] / plain['median_s'],
        cpu_time_ratio=fgd['median_cpu_s'] / plain['median_cpu_s'],
        extra_peak_mem_mib=round(fgd['peak_mem_mib'] - plain['peak_mem_mib'], 1))
    for mode, row in results.items():
        print(f'{mode}: median {row["median_s"]:.2f} s (min {row["min_s"]:.2f}, max '
              f'{row["max_s"]:.2f}; CPU {row["median_cpu_s"]:.2f} s), peak RSS '
              f'{row["peak_mem_mib"]:.0f} MiB')
    print(f'FGD / plain: time x{report["time_ratio"]:.2f}, CPU time '
          f'x{report["cpu_time_ratio"]:.2f}, peak memory +{report["extra_peak_mem_mib"]:.0f} MiB')
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == '__main__':
    main()
