#!/usr/bin/env python
"""Per-layer FLOPs, SOPs and energy of a model (QSD Appendix E, Eq. 28-30).

Works for classifiers, segmentors and detectors: the whole network that
inference runs is counted (backbone, neck and heads; a detector's real-valued
RPN / RoI heads as dense MACs), per image.  Firing rates come from random
inputs (``--input-size``) or from ``--data N`` images of the config's
validation set, averaged over all N (use a trained checkpoint: without one the
numbers describe random weights, and the tool says so).  See
:mod:`mmqsd.analysis.energy` for the conventions.

Example::

    python tools/analysis/energy.py configs/cls/qsd_t_in1k.py ckpt.pth --input-size 224 \
        --out-json energy.json --plot energy.png
"""
import argparse
import json

from mmengine.config import DictAction

from mmqsd.analysis import count_energy, format_energy, format_ops, model_size
from mmqsd.analysis.inputs import analysis_batches, model_forward, positive_int, warn_untrained
from mmqsd.analysis.plots import plot_energy
from mmqsd.apis import init_model
from mmqsd.utils.checkpoint_file import exit_on_bad_checkpoint

NOT_COUNTED = ('element-wise ops, norms, pooling, resizing and (detectors) RoIAlign, NMS and '
               'box decoding: no MACs')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?',
                        help='trained weights (without: random weights, and a warning)')
    parser.add_argument('--input-size', type=int, nargs='+', default=[224],
                        help='H [W] of the random input (ignored with --data)')
    parser.add_argument('--data', type=positive_int, metavar='N',
                        help='measure on N images of the config\'s val set (averaged over all N)')
    parser.add_argument('--batch-size', type=positive_int, default=1,
                        help='images per forward with --data (default 1)')
    parser.add_argument('--e-mac', type=float, default=4.6, help='pJ per MAC (default 4.6)')
    parser.add_argument('--e-ac', type=float, default=0.9, help='pJ per AC (default 0.9)')
    parser.add_argument('--no-bit-discount', action='store_true',
                        help='charge b-bit weight ops like 32-bit ones')
    parser.add_argument('--out-json')
    parser.add_argument('--plot', help='write per-layer firing-rate / energy bars to this PNG')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def describe_part(part: dict) -> str:
    """How a part of the model is counted, in words."""
    if not part['spike_layers']:
        return 'real-valued (float ANN part): every op a MAC at E_MAC'
    if part['spike_layers'] == part['layers']:
        return 'spike-driven: every op an AC (SOPs) at E_AC'
    return (f'spike-driven: {part["spike_layers"]} of {part["layers"]} layers on spikes (SOPs '
            'at E_AC), the others on real values (MACs at E_MAC)')


def print_table(result):
    if result.get('warning'):
        print(f'WARNING: {result["warning"]}')
    print(f'{"layer":60s} {"input":5s} {"fr":>6s} {"rate%":>6s} {"FLOPs(M)":>10s} '
          f'{"SOPs(M)":>10s} {"E(uJ)":>9s}')
    for name, row in result['layers'].items():
        fr = f'{row["fr"]:.3f}' if row['fr'] is not None else '-'
        rate = f'{100 * row["rate"]:.1f}' if row['rate'] is not None else '-'
        print(f'{name[:60]:60s} {"spike" if row["spike_input"] else "real":5s} {fr:>6s} '
              f'{rate:>6s} {row["flops"] / 1e6:10.2f} {row["sops"] / 1e6:10.2f} '
              f'{row["energy_mj"] * 1e3:9.3f}')
    print(f'counted per image, averaged over {result["num_images"]} image(s):')
    for name, part in result['parts'].items():
        print(f'  {name:14s} FLOPs {format_ops(part["flops"])} | SOPs {format_ops(part["sops"])}'
              f' | MACs {format_ops(part["macs"])} | energy {format_energy(part["energy_mj"])}'
              f' -- {describe_part(part)}')
    spiking = [n for n, p in result['parts'].items() if p['spike_layers']]
    real = [n for n in result['parts'] if n not in spiking]
    for label, names in (('spike-driven parts', spiking), ('real-valued parts', real)):
        if spiking and real:
            energy = sum(result['parts'][n]['energy_mj'] for n in names)
            print(f'  {label} ({" + ".join(names)}): energy {format_energy(energy)}')
    print(f'  not counted: {NOT_COUNTED}')
    if result['not_run']:
        print(f'  not run by inference, not counted: {len(result["not_run"])} conv/linear '
              f'layers ({", ".join(sorted({n.split(".")[0] for n in result["not_run"]}))})')
    print(f'total FLOPs {format_ops(result["total_flops"])} | SOPs '
          f'{format_ops(result["total_sops"])} | MACs (real-valued inputs) '
          f'{format_ops(result["total_macs"])} | energy {format_energy(result["energy_mj"])} '
          f'(Eq. 30 as printed in the paper: {format_energy(result["energy_mj_eq30"])}) | '
          f'params {result["params"]:,} (32-bit equivalent {result["params_32bit_equiv"]:,})')


def main(argv=None):
    args = parse_args(argv)
    exit_on_bad_checkpoint(args.checkpoint)
    warning = warn_untrained(args.checkpoint)
    model = init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    batches = analysis_batches(model, args.data, args.input_size, args.batch_size, 'energy')
    result = count_energy(model, batches, model_forward, args.e_mac, args.e_ac,
                          not args.no_bit_discount)
    result.update({k: v for k, v in model_size(model).items()
                   if k in ('params', 'params_32bit_equiv')})
    result['warning'] = warning
    print_table(result)
    if args.plot:
        plot_energy(result, args.plot)
        print(f'wrote {args.plot}')
    if args.out_json:
        dumped = dict(result, layers=[dict(name=n, **r) for n, r in result['layers'].items()],
                      firing_rates=[dict(name=n, **r) for n, r in result['firing_rates'].items()])
        with open(args.out_json, 'w') as f:
            json.dump(dumped, f, indent=2)
    return result


if __name__ == '__main__':
    main()
