#!/usr/bin/env python
"""Evaluate an exported ONNX file on a config's test set with the config's metric.

    python tools/deploy/test_onnx.py CONFIG model.onnx [--threads N] [--out-json metrics.json] \
        [--compare CHECKPOINT]

The images go through the config's test pipeline and data preprocessor, the
file runs in ONNX Runtime (``mmqsd.deploy.ORTInferencer``) and the predictions
are scored by ``cfg.test_evaluator`` (mmengine ``Evaluator``), so the numbers
compare directly with ``tools/test.py CONFIG CHECKPOINT``.  Each metric is
printed as ``name: value``.  A file exported from another config (other task,
class count or input size) is refused with a message saying so.  ``--compare
CHECKPOINT`` also scores mmqsd's PyTorch integer form (``to_integer_inference``)
of CONFIG + CHECKPOINT on the same test set and prints its metrics as
``torch integer name: value``.
"""
import argparse
import json
import numbers
import sys

from mmengine.config import DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('onnx_file')
    parser.add_argument('--threads', type=int, help='ONNX Runtime intra-op threads')
    parser.add_argument('--out-json')
    parser.add_argument('--compare', metavar='CHECKPOINT',
                        help="also score the PyTorch integer form of CONFIG + CHECKPOINT ('none': "
                        'the built weights)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def _print(metrics, prefix=''):
    for name, value in metrics.items():
        number = isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral)
        print(f'{prefix}{name}: {float(value):.4f}' if number else f'{prefix}{name}: {value}')


def main(argv=None):
    args = parse_args(argv)
    from mmqsd.deploy.onnx_runtime import require_onnxruntime
    require_onnxruntime(as_exit=True)
    from mmqsd.deploy.onnx_inferencer import ORTInferencer, evaluate_test_set
    try:
        inferencer = ORTInferencer(args.config, args.onnx_file, args.threads, args.cfg_options)
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    metrics = evaluate_test_set(inferencer.cfg, inferencer.predict_batch, 'ONNX Runtime')
    _print(metrics)
    if args.compare:
        import torch

        from mmqsd.apis import init_model
        from mmqsd.deploy import to_integer_inference
        model = init_model(inferencer.cfg, None if args.compare == 'none' else args.compare)
        with torch.no_grad():
            reference = evaluate_test_set(inferencer.cfg, to_integer_inference(model).test_step,
                                          'PyTorch integer form')
        _print(reference, 'torch integer ')
        metrics = dict(onnxruntime=metrics, torch_integer=reference)
    if args.out_json:
        with open(args.out_json, 'w') as file:
            json.dump(metrics, file, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
