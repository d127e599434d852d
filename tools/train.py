#!/usr/bin/env python
"""Train a model from an mmengine config (mmpretrain/mmdet/mmseg style).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|PATH]] [--amp | --bf16]
                          [--cfg-options KEY=VALUE ...] [--launcher none|pytorch|slurm|mpi]

``--resume`` alone (or ``--resume auto``) continues from the latest checkpoint
in the work dir; ``--resume PATH`` from that checkpoint.  ``--amp`` needs a
CUDA GPU (see ``mmqsd.utils.launch.enable_amp``); ``--bf16`` trains with
bfloat16 autocast on CPU or GPU (``mmqsd.engine.BF16AutocastOptimWrapper``; it
changes numerics).  For multi-GPU or multi-node runs use ``tools/dist_train.sh``
or ``tools/slurm_train.sh``.
"""
import argparse

import mmqsd  # noqa: F401  registers mmqsd modules and applies the compat fixes
from mmqsd.utils.launch import (add_common_args, build_runner, enable_amp, enable_bf16,
                                exit_on_preflight_error, finish_distributed, load_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--resume', nargs='?', const='auto', metavar='auto|PATH',
                        help='resume from the latest checkpoint in the work dir (auto) '
                        'or from the given checkpoint')
    parser.add_argument('--amp', action='store_true', help='mixed-precision training (GPU only)')
    parser.add_argument('--bf16', action='store_true',
                        help='bfloat16 autocast training, CPU or GPU (changes numerics)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by total batch size / '
                        'auto_scale_lr.base_batch_size')
    parser.add_argument('--no-validate', action='store_true',
                        help='skip validation during training')
    add_common_args(parser)
    return parser.parse_args(argv)


def merge_train_args(cfg, args):
    """Apply the training-only command-line switches to ``cfg``."""
    if args.amp and args.bf16:
        raise SystemExit('error: choose one of --amp (fp16, GPU) and --bf16')
    if args.amp:
        enable_amp(cfg)
    if args.bf16:
        enable_bf16(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        if 'base_batch_size' not in (cfg.get('auto_scale_lr') or {}):
            raise SystemExit('error: --auto-scale-lr needs auto_scale_lr = dict(base_batch_size=N) '
                             'in the config: the total batch size its learning rate is set for')
        cfg.auto_scale_lr.enable = True
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_train_args(load_config(args), args)
    build_runner(cfg, ('train_dataloader', 'val_dataloader')).train()
    finish_distributed()


if __name__ == '__main__':
    with exit_on_preflight_error():
        main()
