#!/usr/bin/env python
"""Check that the spike-driven form (binary spikes over virtual time steps) of a
model equals its multi-bit form on the same input (QSD Fig. 1b, Eq. 10).

Without a checkpoint the model's BN/MPRF statistics and layer scales are
randomised (``--no-randomize`` to keep them) so that neurons fire at several
levels and the attention branches matter.

Example::

    python tools/deploy/verify_spike_driven.py configs/cls/qsd_t_in1k.py --input-size 64 \
        --dtype float64 --out-json verify.json

``--integer`` checks the deployment form (uint8 spikes, int8 weights, int32
accumulation) instead of the float reference form.
"""
import argparse
import json

import torch
from mmengine.config import DictAction

from mmqsd.apis import init_model
from mmqsd.deploy import randomize_statistics, verify_spike_driven
from mmqsd.utils.checkpoint_file import exit_on_bad_checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--input-size', type=int, nargs='+', default=[64],
                        help='input height [width] (default 64)')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--dtype', choices=['float32', 'float64'], default='float64')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-randomize', action='store_true',
                        help='keep the statistics of an untrained model as they are')
    parser.add_argument('--integer', action='store_true',
                        help='check the int8 deployment form of the spike-driven model')
    parser.add_argument('--out-json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def tensor_forward(model, inputs):
    """Raw network outputs of an OpenMMLab model (``mode='tensor'``) or a plain module."""
    try:
        return model(inputs, mode='tensor')
    except TypeError:
        return model(inputs)


def main(argv=None):
    args = parse_args(argv)
    exit_on_bad_checkpoint(args.checkpoint)
    torch.manual_seed(args.seed)
    model = init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    if args.checkpoint is None and not args.no_randomize:
        randomize_statistics(model, seed=args.seed)
    dtype = getattr(torch, args.dtype)
    height, width = (args.input_size * 2)[:2]
    in_channels = getattr(getattr(model, 'backbone', None), 'in_channels', 3)
    inputs = torch.randn(args.batch_size, in_channels, height, width, dtype=dtype) * 2
    result = verify_spike_driven(model.to(dtype), inputs, tensor_forward, args.integer)
    result.update(config=args.config, checkpoint=args.checkpoint, dtype=args.dtype,
                  input_shape=list(inputs.shape), integer=args.integer)
    print(json.dumps(result, indent=2))
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
