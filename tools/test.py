#!/usr/bin/env python
"""Evaluate a checkpoint with an mmengine config (mmpretrain/mmdet/mmseg style).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
                         [--show] [--show-dir DIR] [--wait-time S] [--interval N]
                         [--cfg-options KEY=VALUE ...] [--launcher none|pytorch|slurm|mpi]

The metrics are printed last, one ``name: value`` line each.  ``--show`` /
``--show-dir`` draw the predictions with the task's visualization hook, as the
mmdet / mmseg / mmpretrain ``tools/test.py`` do (docs/analysis.md).
"""
import argparse

import numpy as np

import mmqsd  # noqa: F401  registers mmqsd modules and applies the compat fixes
from mmengine.evaluator import DumpResults

from mmqsd.apis.visualization import enable_test_visualization
from mmqsd.utils.checkpoint_file import (CheckpointFileError, check_weights_fit,
                                         exit_on_bad_checkpoint)
from mmqsd.utils.launch import (add_common_args, build_runner, exit_on_preflight_error,
                                finish_distributed, load_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a checkpoint')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='also dump the raw predictions to this pickle file')
    parser.add_argument('--show', action='store_true', help='show each prediction in a window')
    parser.add_argument('--show-dir', help='save the drawn predictions (ground truth next to '
                        'prediction) in this folder: mmdet configs write to '
                        'work_dir/<timestamp>/SHOW_DIR (unless absolute), mmseg configs to '
                        'SHOW_DIR/vis_data/vis_image, mmpretrain configs to SHOW_DIR')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each --show window stays open (default 2)')
    parser.add_argument('--interval', type=int, default=1,
                        help='draw every N-th test image (mmpretrain) or batch (mmseg); '
                        'mmdet draws every image (default 1)')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    exit_on_bad_checkpoint(args.checkpoint)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        try:
            enable_test_visualization(cfg, args.show, args.show_dir, args.wait_time,
                                      args.interval)
        except ValueError as err:
            raise SystemExit(f'error: {err}') from None
    runner = build_runner(cfg, ('test_dataloader',))
    try:  # mmengine loads test checkpoints with strict=False: refuse one of another model
        check_weights_fit(runner.model, args.checkpoint)
    except CheckpointFileError as err:
        raise SystemExit(f'error: {err}') from None
    if args.out:
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = runner.test()
    if runner.rank == 0:
        for name, value in metrics.items():
            shown = f'{float(value):.2f}' if isinstance(value, (float, np.floating)) else value
            print(f'{name}: {shown}')
    finish_distributed()


if __name__ == '__main__':
    with exit_on_preflight_error():
        main()
