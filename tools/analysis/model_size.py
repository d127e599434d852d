#!/usr/bin/env python
"""Print a model's parameter count and 32-bit-equivalent size (QSD Table 1 convention).

Example::

    python tools/analysis/model_size.py configs/cls/qsd_t_in1k.py --out-json size.json
"""
import argparse
import json

from mmengine.config import DictAction

from mmqsd.analysis import model_size
from mmqsd.apis import build_model_from_config


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--out-json', help='also write the result to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.backbone.weight_bits=2')
    args = parser.parse_args(argv)
    result = model_size(build_model_from_config(args.config, args.cfg_options))
    for key, value in result.items():
        shown = value if key == 'weight_bits' else f'{value:,} ({value / 1e6:.3f}M)'
        print(f'{key:28s} {shown}')
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
