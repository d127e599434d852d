#!/usr/bin/env python
"""Plot Q-SDSA membrane and q/k/v spike distributions with and without MPRF
(QSD Fig. 2b / 3b) and report their entropy (Eq. 11).

Example::

    python tools/analysis/attention_dist.py configs/cls/qsd_t_in1k.py ckpt.pth --data 16 \
        --out attention_dist.png --out-json attention_dist.json
"""
import argparse
import json

import torch
from mmengine.config import DictAction

from mmqsd.analysis.attention_dist import AttentionRecorder
from mmqsd.analysis.inputs import analysis_batches, model_forward, positive_int, warn_untrained
from mmqsd.analysis.plots import plot_distributions
from mmqsd.apis import init_model
from mmqsd.utils.checkpoint_file import exit_on_bad_checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?',
                        help='trained weights (without: random weights, and a warning)')
    parser.add_argument('--data', type=positive_int, metavar='N', help='use N images of the val set')
    parser.add_argument('--batch-size', type=positive_int, default=2,
                        help='images per forward (default 2)')
    parser.add_argument('--input-size', type=int, nargs='+', default=[224])
    parser.add_argument('--layers', nargs='+',
                        help='attention branches to plot (substring match); default: the q '
                        'branch of the first and the last attention layer')
    parser.add_argument('--out', default='attention_dist.png', help='PNG to write')
    parser.add_argument('--out-json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    exit_on_bad_checkpoint(args.checkpoint)
    warning = warn_untrained(args.checkpoint)
    model = init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    recorder = AttentionRecorder(model)
    if not recorder.branches:
        raise SystemExit('this model has no Q-SDSA attention (no QKVBranch modules)')
    batches = analysis_batches(model, args.data, args.input_size, args.batch_size,
                               'attention distributions')
    with torch.no_grad(), recorder:
        for batch in batches:
            model_forward(model, batch)
    summary = recorder.summary()
    names = list(summary)
    chosen = [n for n in names if any(s in n for s in args.layers)] if args.layers else \
        [n for n in (names[0], names[-3]) if n.endswith('.q')] or names[:1]
    branches = []
    for name in chosen:
        panels = []
        for label in ('without_mprf', 'with_mprf'):
            if label in summary[name]:
                membrane, spikes = summary[name][f'{label}_values']
                stats = summary[name][label]
                words = label.replace('_', ' ').replace('mprf', 'MPRF')
                panels.append((f'membrane potential, {words}', membrane.numpy(), False))
                panels.append((f'spikes, {words}: H={stats["entropy"] + 0.0:.3f} nats '
                               f'(Eq. 11: {stats["entropy_gaussian"] + 0.0:.3f})', spikes.numpy(),
                               True))
        branches.append((name, panels))
    images = f'{args.data} val images' if args.data else 'random input'
    plot_distributions(branches, args.out, f'Q-SDSA membrane potential and spike levels without'
                       f' / with MPRF (QSD Fig. 2b / 3b), {images}', warning)
    report = {n: {k: v for k, v in row.items() if not k.endswith('_values')}
              for n, row in summary.items()}
    for name, row in report.items():
        cells = [f'{label}: H={row[label]["entropy"]:.3f} mu={row[label]["membrane_mean"]:.2f} '
                 f'sigma={row[label]["membrane_std"]:.2f}' for label in row]
        print(f'{name}: ' + ' | '.join(cells))
    print(f'wrote {args.out}')
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == '__main__':
    main()
