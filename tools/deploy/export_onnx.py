#!/usr/bin/env python
"""Export an mmqsd model to ONNX (exact integer form or float) and verify it in ONNX Runtime.

    python tools/deploy/export_onnx.py CONFIG [CHECKPOINT] --out model.onnx \\
        [--form integer|float] [--input-size 224] [--batch-size 1] [--verify] \\
        [--out-json report.json]

``--form integer`` (default): uint8 spike counts x int8 weights as ``ConvInteger`` /
``MatMulInteger`` (int32 sums), scales / biases / IE-LIF as elementwise ops
(docs/deployment.md).  Classifiers export logits, segmentors logits at the
input size, detectors the backbone + neck features (``feat0..``).

``--verify`` runs the file in ONNX Runtime on random inputs and on the first
test batch of the config's data (if on disk) and compares with mmqsd's
PyTorch integer form (float form: the fp32 model); the exit status is 1 if
predictions differ or logits are further than 1e-4 relative.  Without a
checkpoint the BN/MPRF statistics are randomised (``randomize_statistics``)
so that an untrained model's neurons fire at several levels.
"""
import argparse
import json
import sys

import torch
from mmengine.config import DictAction

from mmqsd.apis import init_model
from mmqsd.deploy import randomize_statistics
from mmqsd.deploy.onnx_export import FORMS, ExportError, export_onnx
from mmqsd.deploy.onnx_inferencer import first_test_batch
from mmqsd.deploy.onnx_runtime import require_onnxruntime, verify_onnx

TOLERANCE = 1e-4


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--form', choices=FORMS, default='integer')
    parser.add_argument('--input-size', type=int, nargs='+', default=[224],
                        help='input height [width] (default 224); fixed in the file')
    parser.add_argument('--batch-size', type=int, default=1, help='fixed in the file')
    parser.add_argument('--verify', action='store_true')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    require_onnxruntime(as_exit=True)
    torch.manual_seed(args.seed)
    model = init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    if args.checkpoint is None:
        randomize_statistics(model, seed=args.seed)
    height, width = (args.input_size * 2)[:2]
    shape = (args.batch_size, 3, height, width)
    try:
        report = export_onnx(model, args.out, args.form, shape)
    except ExportError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {report['task']}, {args.form} form, input {shape}, "
          f"{report['num_integer_ops']} integer ops, opset {report['opset']}")
    status = 0
    if args.verify:
        inputs = dict(random=torch.randn(2 * args.batch_size, *shape[1:]))
        demo = first_test_batch(model.cfg, model.data_preprocessor, shape)
        if demo is not None:
            inputs['test_data'] = demo
        report.update(verify_onnx(model, args.out, inputs))
        ok = report['max_rel_err'] <= TOLERANCE and report['same_top1'] is not False
        report['passed'] = ok
        print(f"verify ({', '.join(inputs)}): max_rel_err {report['max_rel_err']:.2e}, "
              f"same_top1 {report['same_top1']} (against the fp32 model: max_rel_err "
              f"{report['max_rel_err_fp32']:.2e}), onnxruntime {report['onnxruntime']}: "
              f"{'OK' if ok else 'FAILED'}")
        status = 0 if ok else 1
    if args.out_json:
        with open(args.out_json, 'w') as file:
            json.dump(report, file, indent=1)
    return status


if __name__ == '__main__':
    sys.exit(main())
