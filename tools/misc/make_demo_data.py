#!/usr/bin/env python
"""Write a small offline demo data set (see :mod:`mmqsd.datasets.demo_data`).

Example::

    python tools/misc/make_demo_data.py digits --out data/demo_digits
    python tools/misc/make_demo_data.py coco --out data/demo_coco
    python tools/misc/make_demo_data.py ade --out data/demo_ade
    python tools/misc/make_demo_data.py cifar10dvs --out data/demo_cifar10dvs
"""
import argparse
import json

from mmqsd.datasets.demo_data import GENERATORS, read_meta


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='kind', required=True,
                                metavar='{' + ','.join(GENERATORS) + '}')

    def kind(name, help):
        """A sub-command writing to data/demo_<name> by default (configs expect that path)."""
        cmd = sub.add_parser(name, help=help)
        cmd.add_argument('--out', default=f'data/demo_{name}', help='output folder')
        cmd.add_argument('--seed', type=int, default=0, help='random seed')
        cmd.add_argument('--force', action='store_true', help='overwrite an existing output folder')
        return cmd

    digits = kind('digits', "scikit-learn's 8x8 handwritten digits as mmpretrain CustomDataset "
                  'folders (train/ and val/); --seed seeds the stratified split')
    digits.add_argument('--val-ratio', type=float, default=0.2, help='validation share per class')
    digits.add_argument('--size', type=int, default=32, help='side length of the written images')

    def shapes(name, help, num_train, num_val, max_objects):
        """A generator of synthetic shape scenes (detection or segmentation)."""
        cmd = kind(name, help)
        cmd.add_argument('--num-train', type=int, default=num_train, help='training images')
        cmd.add_argument('--num-val', type=int, default=num_val, help='validation images')
        cmd.add_argument('--size', type=int, default=128, help='side length of the square images')
        cmd.add_argument('--max-objects', type=int, default=max_objects,
                         help='most shapes per image')

    shapes('coco', 'synthetic coloured shapes (rectangle/ellipse/triangle) on textured '
           'backgrounds, COCO instances json with polygon masks (mmqsd.datasets.synthetic_coco)',
           num_train=200, num_val=50, max_objects=3)
    shapes('ade', 'synthetic scenes (sky/ground + rectangle/ellipse/triangle) in ADE20K\'s folder '
           'layout with label PNGs, 0 = unlabelled (mmqsd.datasets.synthetic_ade)',
           num_train=300, num_val=60, max_objects=4)

    dvs = kind('cifar10dvs', 'synthetic CIFAR10-DVS recordings (AEDAT 2.0 files in the class '
               'folders of the published data set) and SpikingJelly-style frame archives '
               '(mmqsd.datasets.synthetic_dvs)')
    dvs.add_argument('--per-class', type=int, default=10, help='recordings per class (>= 10)')
    dvs.add_argument('--num-events', type=int, default=3000, help='mean events per recording')
    dvs.add_argument('--frames', type=int, default=10,
                     help='T of the frame archive written beside the recordings (0: none)')
    return parser.parse_args(argv)


def main(argv=None):
    args = vars(parse_args(argv))
    kind, out = args.pop('kind'), args.pop('out')
    before = read_meta(out)
    meta = GENERATORS[kind](out, **args)
    action = 'kept existing' if meta == before and not args.get('force') else 'wrote'
    print(f'{action} {kind} demo data in {out}: {json.dumps(meta["counts"])}')


if __name__ == '__main__':
    main()
