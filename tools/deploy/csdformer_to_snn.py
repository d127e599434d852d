#!/usr/bin/env python
"""Convert a trained quantised CSDformer classifier into its spike-driven SNN and evaluate both.

Converts (BN folding, threshold mapping, TDEC, delayed IF neurons; CSDformer
Sec. 3.3) and runs the QANN and the SNN on the config's test set, printing the
top-1 accuracy of each, how often their predictions agree, and the time steps
(``T + D`` per layer, the paper's count).  Several ``--delay`` values give
the paper's Table 4 (D = 0 is the plain IF neuron).

Example::

    python tools/deploy/csdformer_to_snn.py configs/csdformer/csdformer_demo_digits.py \
        work_dirs/csdformer_demo_digits/epoch_30.pth --delay 0 1 2 3
"""
import argparse
import json

import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmqsd.apis import init_model
from mmqsd.deploy import SpikeRecorder, convert_csdformer
from mmqsd.utils.checkpoint_file import exit_on_bad_checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--delay', type=int, nargs='+', default=None,
                        help='delay(s) D of the DIF neurons (default: T - 1, the exact setting)')
    parser.add_argument('--dtype', choices=['float32', 'float64'], default='float32',
                        help='precision of both forms (float64 removes float ties at a cost)')
    parser.add_argument('--max-batches', type=int, default=None,
                        help='evaluate only the first N test batches')
    parser.add_argument('--out-json', help='also write the results to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE')
    return parser.parse_args(argv)


@torch.no_grad()
def evaluate(model, snn, dataloader, delays, dtype, max_batches=None) -> dict:
    """Top-1 accuracy of the QANN and of the SNN for every delay, on one pass over the data."""
    correct = {'qann': 0, **{d: 0 for d in delays}}
    agree = {d: 0 for d in delays}
    max_logit_diff = {d: 0.0 for d in delays}
    spike_values, total = set(), 0
    for index, batch in enumerate(dataloader):
        if max_batches is not None and index >= max_batches:
            break
        data = model.data_preprocessor(batch, False)
        inputs = data['inputs'].to(dtype)
        labels = torch.cat([sample.gt_label for sample in data['data_samples']])
        reference = model(inputs, mode='tensor')
        correct['qann'] += int((reference.argmax(1) == labels).sum())
        for delay in delays:
            snn.delay = delay
            with SpikeRecorder(snn) as recorder:
                logits = snn(inputs)
            spike_values |= recorder.values
            correct[delay] += int((logits.argmax(1) == labels).sum())
            agree[delay] += int((logits.argmax(1) == reference.argmax(1)).sum())
            max_logit_diff[delay] = max(max_logit_diff[delay],
                                        float((logits - reference).abs().max()))
        total += len(labels)
    if total == 0:
        raise ValueError('the test dataloader yielded no samples')
    return dict(
        num_samples=total,
        time_steps=snn.backbone.time_steps,
        qann_top1=100.0 * correct['qann'] / total,
        snn=[dict(delay=d, total_time_steps=snn.backbone.time_steps + d,
                  top1=100.0 * correct[d] / total, agreement=100.0 * agree[d] / total,
                  max_abs_logit_diff=max_logit_diff[d]) for d in delays],
        spike_values=sorted(spike_values),
    )


def main(argv=None):
    args = parse_args(argv)
    exit_on_bad_checkpoint(args.checkpoint)
    model = init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    dtype = getattr(torch, args.dtype)
    model = model.to(dtype).eval()
    snn = convert_csdformer(model)
    delays = args.delay if args.delay is not None else [snn.delay]
    init_default_scope(model.cfg.get('default_scope', 'mmpretrain'))
    dataloader = Runner.build_dataloader(model.cfg.test_dataloader)
    result = evaluate(model, snn, dataloader, delays, dtype, args.max_batches)
    result.update(config=args.config, checkpoint=args.checkpoint, dtype=args.dtype)

    print(f"QANN top-1: {result['qann_top1']:.2f}% ({result['num_samples']} images, "
          f"L = T = {result['time_steps']})")
    for row in result['snn']:
        print(f"SNN  top-1: {row['top1']:.2f}% with D = {row['delay']} "
              f"(total time steps T + D = {row['total_time_steps']}, agreement with QANN "
              f"{row['agreement']:.2f}%, max |logit diff| {row['max_abs_logit_diff']:.3g})")
    print(f"spike values emitted: {result['spike_values']}")
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
