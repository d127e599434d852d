"""Convert an authors' QSD-Transformer ImageNet checkpoint into an mmqsd checkpoint.

    python tools/model_converters/qsd2mmqsd.py SRC.pth DST.pth \
        --config configs/cls/qsd_t_in1k_authors.py [--trusted]

Key mapping and what is discarded: :mod:`mmqsd.models.backbones.checkpoint_converters`.  Use the
``*_authors.py`` configs to compute what the authors' code computes
(their Multispike round(clip(4x,0,4))/4, attention neuron /2, scale 0.25).

The source file is checked first (:mod:`mmqsd.utils.checkpoint_file`): a
missing, empty, truncated, damaged or foreign file ends the tool with one
``error: <file>: <what is wrong>; <what to do>`` line and exit status 1.
"""
import sys

from mmqsd.models.backbones.checkpoint_converters import (converter_cli,
                                                        convert_qsd_state_dict)


def main(argv=None):
    return converter_cli(argv, __doc__.split('\n')[0],
                         lambda state, args: convert_qsd_state_dict(state),
                         dict(converter='qsd2mmqsd', source='QSD-Transformer'))


if __name__ == '__main__':
    sys.exit(main())
