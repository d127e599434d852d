"""Prepare a trained mmqsd checkpoint for release (as OpenMMLab's publish_model).

    python tools/model_converters/publish_model.py IN.pth OUT.pth [--trusted]

Keeps only ``state_dict`` (plain tensors) and ``meta`` (plain Python values),
dropping optimizer, param-scheduler and message-hub state, so that the file
loads with ``torch.load(weights_only=True)``; then renames it to
``OUT-<first 8 hex digits of its sha256>.pth``.
"""
import argparse
import hashlib
import os
import sys

from mmqsd.models.backbones.checkpoint_converters import (load_checkpoint_file, save_checkpoint,
                                                        unwrap_state_dict)

#: meta entries that describe a training run, not the model (and may be large).
DROPPED_META = ('hook_msgs', 'message_hub')


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for chunk in iter(lambda: file.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


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
