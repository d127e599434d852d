"""Export a QSD classifier's deployed (integer) form and its integer graph.

    python tools/deploy/export_integer.py CONFIG CHECKPOINT OUT_PREFIX [--form F] [--check N]

Writes:

* ``OUT_PREFIX.pth``: the deployed model's buffers (int8 weights, scales, biases,
  fused-neuron parameters) in form ``F`` ('integer' by default, or
  'spike-integer' / 'spike'), loadable with ``torch.load(weights_only=True)``
  into the deployed structure: ``mmqsd.deploy.load_deployed(CONFIG, OUT_PREFIX.pth, F)``;
* ``OUT_PREFIX.npz`` + ``OUT_PREFIX.json``: integers, scales and the op graph
  (format: mmqsd.deploy.integer_export) for runtimes outside PyTorch.

``--check N`` runs both on N random images (the .pth loaded back into a freshly
built deployed model, the npz/json with the reference runner) and reports the
top-1 agreement and logit error against the training form.
"""
import argparse
import sys

import torch

from mmqsd.apis import init_model
from mmqsd.deploy import FORMS, convert, load_deployed, max_relative_error, save_deployed
from mmqsd.deploy.integer_export import export_integer, run_exported
from mmqsd.utils.checkpoint_file import exit_on_bad_checkpoint


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="mmqsd checkpoint ('none' for the built weights)")
    parser.add_argument('out_prefix')
    parser.add_argument('--form', choices=FORMS, default='integer',
                        help='inference form saved to OUT_PREFIX.pth')
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
    deployed_path = args.out_prefix + '.pth'
    save_deployed(convert(model, args.form), deployed_path, args.form)
    print(f"wrote {deployed_path} ({args.form} form), {files['graph']} and {files['arrays']}")
    if args.check:
        x = torch.randn(args.check, model.backbone.in_channels, args.size, args.size)
        deployed = load_deployed(args.config, deployed_path, args.form)
        with torch.no_grad():
            ref = model(x, mode='tensor')
            outs = dict(deployed=deployed(x, mode='tensor').double(),
                        graph=run_exported(files['graph'], x))
        for name, out in outs.items():
            same = (ref.argmax(1) == out.argmax(1)).float().mean().item()
            print(f'{name}: top-1 agreement {same:.3f}, max relative logit error '
                  f'{max_relative_error(ref.double(), out):.2e}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
