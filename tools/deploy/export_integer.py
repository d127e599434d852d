"""Export a QSD classifier to integer weights + scales (npz) and a json graph.

    python tools/deploy/export_integer.py CONFIG CHECKPOINT OUT_PREFIX [--check N]

Writes OUT_PREFIX.npz and OUT_PREFIX.json (format: mmqsd.deploy.integer_export).
``--check N`` runs the exported files with the reference runner on N random
images and reports the top-1 agreement and logit error against PyTorch.
"""
import argparse
import sys

import torch

from mmqsd.apis import init_model
from mmqsd.deploy import max_relative_error
from mmqsd.deploy.integer_export import export_integer, run_exported
from mmqsd.utils.checkpoint_file import exit_on_bad_checkpoint


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="mmqsd checkpoint ('none' for the built weights)")
    parser.add_argument('out_prefix')
    parser.add_argument('--check', type=int, default=0, metavar='N')
    parser.add_argument('--size', type=int, default=224, help='image size for --check')
    args = parser.parse_args(argv)
    checkpoint = None if args.checkpoint == 'none' else args.checkpoint
    exit_on_bad_checkpoint(checkpoint)
    model = init_model(args.config, checkpoint)
    try:
        files = export_integer(model, args.out_prefix)
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f"wrote {files['graph']} and {files['arrays']}")
    if args.check:
        x = torch.randn(args.check, model.backbone.in_channels, args.size, args.size)
        with torch.no_grad():
            ref = model(x, mode='tensor')
        out = run_exported(files['graph'], x)
        same = (ref.argmax(1) == out.argmax(1)).float().mean().item()
        print(f'top-1 agreement {same:.3f}, max relative logit error '
              f'{max_relative_error(ref.double(), out):.2e}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
