"""Prepare a trained mmqsd checkpoint for release (as OpenMMLab's publish_model).

    python tools/model_converters/publish_model.py IN.pth OUT.pth [--trusted]

Keeps only ``state_dict`` (plain tensors) and ``meta`` (plain Python values),
dropping optimizer, param-scheduler and message-hub state, so that the file
loads with ``torch.load(weights_only=True)``; then renames it to
``OUT-<first 8 hex digits of its sha256>.pth``.  mmqsd's tools check that
hash whenever they load a file named this way
(:mod:`mmqsd.utils.checkpoint_file`), so a corrupted download is refused.
A damaged, truncated or foreign input file ends the tool with one
``error: <file>: <what is wrong>; <what to do>`` line and exit status 1.
"""
import argparse
import os
import sys

from mmqsd.models.backbones.checkpoint_converters import save_checkpoint, unwrap_state_dict
from mmqsd.utils.checkpoint_file import load_checkpoint_file, sha256_of

#: meta entries that describe a training run, not the model (and may be large).
DROPPED_META = ('hook_msgs', 'message_hub')


def publish(src: str, dst: str, trusted: bool = False) -> str:
    """Write the stripped checkpoint, return its final ``...-<sha256[:8]>.pth`` path."""
    checkpoint = load_checkpoint_file(src, trusted)
    meta = (checkpoint.get('meta') or {}) if isinstance(checkpoint, dict) else {}
    meta = {k: v for k, v in meta.items() if k not in DROPPED_META}
    stem = dst[:-len('.pth')] if dst.endswith('.pth') else dst
    tmp = save_checkpoint(unwrap_state_dict(checkpoint), meta, stem + '.pth')
    final = f'{stem}-{sha256_of(tmp)[:8]}.pth'
    os.replace(tmp, final)
    return final


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('in_file', help='checkpoint written by training')
    parser.add_argument('out_file', help='output name; the sha256 prefix is appended')
    parser.add_argument('--trusted', action='store_true',
                        help='allow unpickling non-tensor objects (mmengine stores message-hub '
                        'state): only for checkpoints you produced or trust')
    args = parser.parse_args(argv)
    try:
        final = publish(args.in_file, args.out_file, args.trusted)
    except (ValueError, FileNotFoundError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'published {final}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
