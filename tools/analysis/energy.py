#!/usr/bin/env python
"""Per-layer FLOPs, SOPs and energy of a model (QSD Appendix E, Eq. 28-30).

Firing rates come from random inputs (``--input-size``) or from ``--data N``
images of the config's validation set (use a trained checkpoint for
meaningful rates).  See :mod:`mmqsd.analysis.energy` for the conventions.

Example::

    python tools/analysis/energy.py configs/cls/qsd_t_in1k.py --input-size 224 \
        --out-json energy.json --plot energy.png
"""
import argparse
import json

import torch
from mmengine.config import DictAction

from mmqsd.analysis import count_energy, model_size
from mmqsd.analysis.inputs import analysis_batches, tensor_forward
from mmqsd.analysis.plots import plot_energy
from mmqsd.apis import init_model


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--input-size', type=int, nargs='+', default=[224])
    parser.add_argument('--data', type=int, metavar='N',
                        help='measure firing rates on N images of the config\'s val set')
    parser.add_argument('--e-mac', type=float, default=4.6, help='pJ per MAC (default 4.6)')
    parser.add_argument('--e-ac', type=float, default=0.9, help='pJ per AC (default 0.9)')
    parser.add_argument('--no-bit-discount', action='store_true',
                        help='charge b-bit weight ops like 32-bit ones')
    parser.add_argument('--out-json')
    parser.add_argument('--plot', help='write per-layer firing-rate / energy bars to this PNG')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def average_results(results):
    """Image-weighted mean of several :func:`count_energy` results."""
    if len(results) == 1:
        return results[0][1]
    total = sum(n for n, _ in results)
    merged = results[0][1]
    for key in ('total_flops', 'total_sops', 'total_macs', 'energy_mj', 'energy_mj_eq30'):
        merged[key] = sum(n * r[key] for n, r in results) / total
    for name, row in merged['layers'].items():
        for key in ('flops', 'sops', 'macs', 'energy_mj'):
            row[key] = sum(n * r['layers'][name][key] for n, r in results) / total
    return merged


def print_table(result):
    print(f'{"layer":60s} {"input":5s} {"fr":>6s} {"FLOPs(M)":>10s} {"SOPs(M)":>10s} '
          f'{"E(uJ)":>9s}')
    for name, row in result['layers'].items():
        fr = f'{row["fr"]:.3f}' if row['fr'] is not None else '-'
        print(f'{name[:60]:60s} {"spike" if row["spike_input"] else "real":5s} {fr:>6s} '
              f'{row["flops"] / 1e6:10.2f} {row["sops"] / 1e6:10.2f} '
              f'{row["energy_mj"] * 1e3:9.3f}')
    print(f'total FLOPs {result["total_flops"] / 1e9:.3f} G | SOPs {result["total_sops"] / 1e9:.3f}'
          f' G | MACs (real-valued inputs) {result["total_macs"] / 1e9:.3f} G | energy '
          f'{result["energy_mj"]:.4f} mJ (Eq. 30 as printed in the paper: '
          f'{result["energy_mj_eq30"]:.4f} mJ) | params {result["params"]:,} '
          f'(32-bit equivalent {result["params_32bit_equiv"]:,})')


def main(argv=None):
    args = parse_args(argv)
    model = init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    batches = analysis_batches(model, args.data, args.input_size, batch_size=1)
    results = []
    with torch.no_grad():
        for inputs in batches:
            results.append((len(inputs), count_energy(
                model, inputs, tensor_forward, args.e_mac, args.e_ac, not args.no_bit_discount)))
    result = average_results(results)
    result.update({k: v for k, v in model_size(model).items()
                   if k in ('params', 'params_32bit_equiv')})
    result['num_images'] = sum(n for n, _ in results)
    print_table(result)
    if args.plot:
        plot_energy(result, args.plot)
        print(f'wrote {args.plot}')
    if args.out_json:
        result['layers'] = [dict(name=name, **row) for name, row in result['layers'].items()]
        result['firing_rates'] = [dict(name=n, **r) for n, r in result['firing_rates'].items()]
        with open(args.out_json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
