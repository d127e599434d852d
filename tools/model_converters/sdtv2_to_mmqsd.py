"""Convert a Spike-driven Transformer V2 (Meta-SpikeFormer) checkpoint into mmqsd.

    python tools/model_converters/sdtv2_to_mmqsd.py SRC.pth DST.pth \
        --config configs/cls/sdtv2_l_in1k_authors.py [--kd-head average|drop] [--trusted]

The converted model is ``QSDTransformer(weight_bits=None, neuron='lif', ...)``;
``configs/cls/sdtv2_l_in1k_authors.py`` sets the LIF options that reproduce
SpikingJelly's LIF (see its header).  ``head_kd`` is averaged into ``head``
(what the authors' evaluation computes) or dropped.

The source file is checked first (:mod:`mmqsd.utils.checkpoint_file`): a
missing, empty, truncated, damaged or foreign file ends the tool with one
``error: <file>: <what is wrong>; <what to do>`` line and exit status 1.
"""
import sys

from mmqsd.models.backbones.checkpoint_converters import (converter_cli,
                                                        convert_sdtv2_state_dict)


def add_arguments(parser):
    parser.add_argument('--kd-head', choices=('average', 'drop'), default='average',
                        help='merge the distillation head into head (default) or drop it')


def main(argv=None):
    return converter_cli(argv, __doc__.split('\n')[0],
                         lambda state, args: convert_sdtv2_state_dict(state, args.kd_head),
                         dict(converter='sdtv2_to_mmqsd', source='SDT-V2'), add_arguments)


if __name__ == '__main__':
    sys.exit(main())
