"""One reader and validator of checkpoint files for every mmqsd tool that loads one.

A failed download, a wrong file or a damaged copy must be refused with the
file's name, what is wrong and what to do, before ``torch.load`` turns it into
a bare ``EOFError``/``RuntimeError``/``UnpicklingError`` traceback -- or,
worse, loads flipped bits as weights.  :func:`check_checkpoint_file` runs these
checks, in this order; each failure raises :class:`CheckpointFileError`:

1. **exists**: the path is an existing file (not a folder).
2. **not empty**: a 0-byte file is what an interrupted download or copy leaves.
3. **a ``torch.save`` file**: it starts with the zip signature (the format of
   torch >= 1.6) or with the pickled magic number of the legacy format;
   anything else is refused, naming what it is when recognisable (an HTML
   error page, an archive to unpack, a Git LFS pointer ...,
   :mod:`mmqsd.utils.file_kind`).
4. **complete and intact (zip format)**: the zip directory at the end of the
   file is present (else the file is truncated), it lists a ``data.pkl``
   record (else it is some other zip archive), and every record matches the
   CRC-32 that ``torch.save`` wrote for it (else bytes were changed: a damaged
   copy).  ``torch.load`` checks none of the CRCs, so without this a flipped
   bit inside a tensor loads silently.
5. **hash in the name**: a file named the OpenMMLab way,
   ``<name>-<hex>.pth`` (``tools/model_converters/publish_model.py`` and
   OpenMMLab's model zoos append the first 8 hex digits of the file's
   SHA-256), must have a SHA-256 that starts with ``<hex>`` (8 to 64
   lower-case hex digits).  A suffix of decimal digits only (e.g. a date,
   ``-20250101``) is not taken for a hash: this skips checking the ~2 % of
   real 8-digit prefixes that contain no letter, in exchange for never
   refusing a date-stamped name.

Remote checkpoints (``https://...``, ``open-mmlab://...`` and other
``scheme://`` names) are left to mmengine's loader.  A truncated file in the
legacy (non-zip) format passes these checks and is caught when
:func:`load_checkpoint_file` unpickles it.

The hash and CRC checks read the whole file once each (about a second per
few hundred MB).
"""
import hashlib
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Optional

import torch

from .file_kind import HEAD_BYTES, describe_file_start

#: The first bytes of a ``torch.save`` file: zip (torch >= 1.6), and the legacy format's
#: pickle (protocol 2) of its magic number 0x1950a86a20f9469cfc6c.
ZIP_MAGIC = b'PK\x03\x04'
LEGACY_MAGIC = b'\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19'
#: ``<name>-<hex>.pth``: the hash suffix of OpenMMLab's ``publish_model``.
HASH_NAME = re.compile(r'-(?P<prefix>[0-9a-f]{8,64})\.pth$')
URL = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')

GET_AGAIN = 'download or copy it again'


class CheckpointFileError(ValueError):
    """A checkpoint file that must not be loaded: ``path``, ``what`` is wrong, the ``fix``.

    ``str(error)`` is one line, ``'<path>: <what>; <fix>'``, fit for a tool's
    ``error:`` message.
    """

    def __init__(self, path: str, what: str, fix: str):
        self.path, self.what, self.fix = path, what, fix
        super().__init__(f'{path}: {what}; {fix}')


def sha256_of(path: str) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for chunk in iter(lambda: file.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def name_hash_prefix(path: str) -> Optional[str]:
    """The SHA-256 prefix a ``<name>-<hex>.pth`` file name promises, or None (see check 5)."""
    match = HASH_NAME.search(osp.basename(path))
    if match is None or match['prefix'].isdigit():
        return None
    return match['prefix']


def _check_zip(path: str) -> None:
    """Check 4: a complete zip with ``data.pkl`` whose records all match their CRC-32."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            has_pickle = any(name == 'data.pkl' or name.endswith('/data.pkl') for name in names)
            bad = archive.testzip() if has_pickle else None
    except zipfile.BadZipFile as err:
        raise CheckpointFileError(
            path, f'truncated: the zip directory at the end of the file is missing ({err})',
            GET_AGAIN) from None
    except (OSError, EOFError, ValueError) as err:  # a record cut off or unreadable
        raise CheckpointFileError(path, f'damaged zip records ({err})', GET_AGAIN) from None
    if not has_pickle:
        raise CheckpointFileError(
            path, 'a zip archive without a data.pkl record, so not a torch.save checkpoint',
            'unpack it if the checkpoint is inside, or name the .pth file')
    if bad is not None:
        raise CheckpointFileError(
            path, f'damaged: record {bad!r} does not match the CRC-32 stored for it (bytes '
            'changed since torch.save wrote it)', GET_AGAIN)


def check_checkpoint_file(path: str) -> None:
    """Run checks 1-5 of the module doc on a local checkpoint file.

    Args:
        path: the file; ``scheme://`` names are not checked (mmengine loads them).

    Raises:
        CheckpointFileError: the first check that fails, naming the file, what
            is wrong and the fix.
    """
    path = os.fspath(path)
    if URL.match(path):
        return
    if not osp.exists(path):
        raise CheckpointFileError(path, 'no such file', 'check the path, or get or convert the '
                                  'checkpoint first (docs/model_zoo.md)')
    if not osp.isfile(path):
        raise CheckpointFileError(path, 'a folder, not a checkpoint file', 'name the .pth file')
    with open(path, 'rb') as file:
        head = file.read(HEAD_BYTES)
    if not head:
        raise CheckpointFileError(path, 'empty file (0 bytes), as an interrupted download or copy '
                                  'leaves', GET_AGAIN)
    if not (head.startswith(ZIP_MAGIC) or head.startswith(LEGACY_MAGIC)):
        kind = describe_file_start(head)
        if kind is None:
            raise CheckpointFileError(
                path, 'not a PyTorch checkpoint (it starts with neither signature of a '
                'torch.save file)', f'check the path; {GET_AGAIN}')
        raise CheckpointFileError(path, f'not a PyTorch checkpoint but {kind.what}', kind.fix)
    prefix = name_hash_prefix(path)
    if prefix is not None:
        digest = sha256_of(path)
        if not digest.startswith(prefix):
            raise CheckpointFileError(
                path, f'corrupted: its SHA-256 is {digest[:len(prefix)]}..., but its name '
                f'promises {prefix} (OpenMMLab naming, <name>-<sha256 prefix>.pth)',
                f'{GET_AGAIN}; if "-{prefix}" is not a hash, rename the file')
    if head.startswith(ZIP_MAGIC):
        _check_zip(path)


def _refused_globals(err: pickle.UnpicklingError) -> bool:
    """Whether ``torch.load(weights_only=True)`` refused named Python objects (not bad bytes)."""
    text = str(err)
    return 'Unsupported global' in text or 'unsupported GLOBAL' in text


def _reason(err: BaseException) -> str:
    """The gist of a loading error in one short line (torch's weights-only text is long)."""
    text = str(err)
    if 'WeightsUnpickler error:' in text:
        text = text.split('WeightsUnpickler error:', 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f'{type(err).__name__}: {lines[0][:160]}' if lines else type(err).__name__


def load_checkpoint_file(path: str, trusted: bool = False):
    """Check ``path`` (:func:`check_checkpoint_file`) and ``torch.load`` it on the CPU.

    Loads with ``weights_only=True``; a checkpoint that also pickles Python
    objects (an argparse Namespace in the authors' checkpoints, mmengine's
    message-hub state) is unpickled in full only when ``trusted``, because
    unpickling runs code from the file.

    Raises:
        CheckpointFileError: a failed check; pickled objects without
            ``trusted`` (fix: ``--trusted``); bytes that do not unpickle
            (truncated legacy-format file, damaged pickle), also with ``trusted``.
    """
    check_checkpoint_file(path)
    damaged = 'damaged or truncated: it does not unpickle ({})'
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        if not _refused_globals(err):
            raise CheckpointFileError(path, damaged.format(_reason(err)), GET_AGAIN) from None
        if not trusted:
            found = re.search(r'GLOBAL (\S+)', str(err))
            detail = f' such as {found[1]}' if found else ''
            raise CheckpointFileError(
                path, f'holds pickled Python objects besides tensors{detail}',
                'loading them runs code from the file: if you trust it, pass --trusted') from None
    except (EOFError, RuntimeError) as err:
        raise CheckpointFileError(path, damaged.format(_reason(err)), GET_AGAIN) from None
    try:
        return torch.load(path, map_location='cpu', weights_only=False)
    except (pickle.UnpicklingError, EOFError, RuntimeError) as err:
        raise CheckpointFileError(path, damaged.format(_reason(err)), GET_AGAIN) from None


def exit_on_bad_checkpoint(path: Optional[str]) -> None:
    """For a command-line tool: :func:`check_checkpoint_file`, a failure ending the program.

    Does nothing for ``None`` (no checkpoint given).  Raises ``SystemExit``
    with the one-line message ``error: <path>: <what>; <fix>`` (exit status 1,
    no traceback).
    """
    if path is None:
        return
    try:
        check_checkpoint_file(path)
    except CheckpointFileError as err:
        raise SystemExit(f'error: {err}') from None


def check_weights_fit(model: torch.nn.Module, path: str) -> None:
    """Refuse a checkpoint whose weights would not reach ``model`` when loaded.

    mmengine's runner loads test checkpoints with ``strict=False`` and only logs
    unmatched keys, so a checkpoint of another model is evaluated with random
    weights.  Refused: a file whose tensors have none of the model's names (a
    wrong file, another task), and one whose shared names have other shapes (another
    config, e.g. a widened backbone).  Partly matching checkpoints (a backbone
    only) are left to mmengine's warning.  A ``module.`` prefix (DDP) is ignored.
    Files that need ``--trusted`` to unpickle are not inspected.

    Raises:
        CheckpointFileError: naming the file, the mismatch and the fix.
    """
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError:
        return
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()
             if isinstance(v, torch.Tensor)}
    own = {re.sub(r'^module\.', '', k): v for k, v in model.state_dict().items()}
    fix = 'use the checkpoint of this config, or the config the checkpoint was trained with'
    shared = sorted(own.keys() & state.keys())
    if not shared:
        raise CheckpointFileError(
            path, f'none of its {len(state)} weight tensors has a name of this model '
            f'({type(model).__name__}, e.g. {next(iter(own), "-")!r})', fix)
    mismatched = [k for k in shared if own[k].shape != state[k].shape]
    if mismatched:
        key = mismatched[0]
        raise CheckpointFileError(
            path, f'{len(mismatched)} of its weights have other shapes than this model\'s, '
            f'e.g. {key}: {tuple(state[key].shape)} in the file, {tuple(own[key].shape)} in '
            'the model', fix)
