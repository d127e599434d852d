#!/usr/bin/env python
"""Evaluate a checkpoint with an mmengine config (mmpretrain/mmdet/mmseg style).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
                         [--cfg-options KEY=VALUE ...] [--launcher none|pytorch|slurm|mpi]

The metrics are printed last, one ``name: value`` line each.
"""
import argparse

import numpy as np

import mmqsd  # noqa: F401  registers mmqsd modules and applies the compat fixes
from mmengine.evaluator import DumpResults

from mmqsd.utils.launch import add_common_args, build_runner, finish_distributed, load_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a checkpoint')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='also dump the raw predictions to this pickle file')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    runner = build_runner(cfg, ('test_dataloader',))
    if args.out:
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = runner.test()
    if runner.rank == 0:
        for name, value in metrics.items():
            shown = f'{float(value):.2f}' if isinstance(value, (float, np.floating)) else value
            print(f'{name}: {shown}')
    finish_distributed()


if __name__ == '__main__':
    main()
