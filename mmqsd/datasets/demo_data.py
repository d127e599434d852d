"""Small, bundled demo data sets written in the OpenMMLab on-disk layouts.

Nothing here downloads: every generator draws on data that ships with an
installed package, so ``make demo`` works offline.

``digits`` writes scikit-learn's handwritten digits (UCI optdigits test set,
1797 8x8 grayscale images, 10 classes) as RGB PNGs in mmpretrain's
``CustomDataset`` folder layout::

    <out>/train/<class>/<index>.png
    <out>/val/<class>/<index>.png
    <out>/meta.json        written last: the marker of a complete data set

A generator writes into a temporary sibling folder and renames it into place
when done, so an interrupted run never leaves a half-written data set behind.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable, Dict

import numpy as np

from ..utils.progress import track

META_FILE = 'meta.json'


def stratified_split(labels: np.ndarray, val_ratio: float, seed: int) -> np.ndarray:
    """Return a boolean mask that marks the validation samples.

    Each class contributes ``round(n_class * val_ratio)`` samples, chosen by a
    permutation drawn from ``numpy.random.default_rng(seed)``, so the split is
    deterministic for a given seed and class balance is kept in both parts.
    """
    if not 0 < val_ratio < 1:
        raise ValueError(f'val_ratio must be in (0, 1), got {val_ratio}')
    rng = np.random.default_rng(seed)
    is_val = np.zeros(len(labels), dtype=bool)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        n_val = int(round(len(members) * val_ratio))
        is_val[rng.permutation(members)[:n_val]] = True
    return is_val


def read_meta(out_dir: str):
    """The ``meta.json`` of a complete data set in ``out_dir``, or None."""
    path = osp.join(out_dir, META_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _write_atomically(out_dir: str, write: Callable[[str], dict], force: bool) -> dict:
    """Run ``write(tmp_dir) -> meta`` and move ``tmp_dir`` to ``out_dir``.

    An existing ``out_dir`` (only with ``force``) is replaced once the new data
    set is complete, so a failed run leaves the old one in place.
    """
    if osp.exists(out_dir) and not force:
        raise FileExistsError(
            f'{out_dir} exists but holds no complete data set (no {META_FILE}); '
            'remove it or pass force=True (--force) to overwrite it')
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=f'.{osp.basename(out_dir)}.', dir=parent)
    try:
        meta = write(tmp_dir)
        with open(osp.join(tmp_dir, META_FILE), 'w') as f:
            json.dump(meta, f, indent=2)
        if osp.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return meta


def write_dataset(out_dir: str, params: dict, write: Callable[[str], dict],
                  force: bool = False) -> dict:
    """Write a generated data set once and return its meta dict.

    If ``out_dir`` holds a complete data set made with the same ``params`` it
    is kept (unless ``force``); a data set made with other params is replaced.
    Otherwise ``write(tmp_dir)`` fills a temporary folder and returns the meta
    fields, to which ``params`` is added; see :func:`_write_atomically`.
    """
    existing = read_meta(out_dir)
    if existing is not None and not force and existing.get('params') == params:
        return existing
    return _write_atomically(out_dir, lambda root: dict(params=params, **write(root)),
                             force=force or existing is not None)


def make_digits(out_dir: str, val_ratio: float = 0.2, seed: int = 0, size: int = 32,
                force: bool = False) -> dict:
    """Write scikit-learn's digits as ``CustomDataset`` folders; return the meta dict.

    Images are scaled from the 0..16 range to 0..255, upscaled bilinearly to
    ``size`` x ``size`` and stored as 3-channel PNGs named after their index
    in ``sklearn.datasets.load_digits``.  If ``out_dir`` already holds a
    complete data set made with the same arguments it is kept as is.
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    params = dict(source='sklearn.datasets.load_digits', val_ratio=val_ratio, seed=seed, size=size)

    def write(root: str) -> dict:
        digits = load_digits()
        labels = digits.target
        is_val = stratified_split(labels, val_ratio, seed)
        for index, (image, label) in track(enumerate(zip(digits.images, labels)),
                                           'digits demo: images', total=len(labels)):
            folder = osp.join(root, 'val' if is_val[index] else 'train', str(label))
            os.makedirs(folder, exist_ok=True)
            gray = np.clip(image * (255.0 / 16.0), 0, 255).astype(np.uint8)
            img = Image.fromarray(gray).resize((size, size), Image.Resampling.BILINEAR)
            img.convert('RGB').save(osp.join(folder, f'{index:04d}.png'))
        classes = [str(c) for c in digits.target_names]
        counts = {split: {c: int(np.sum(labels[mask] == int(c))) for c in classes}
                  for split, mask in (('train', ~is_val), ('val', is_val))}
        return dict(classes=classes, counts=counts)

    return write_dataset(out_dir, params, write, force=force)


#: Sub-command name -> generator; ``tools/misc/make_demo_data.py`` exposes each.
GENERATORS: Dict[str, Callable[..., dict]] = dict(digits=make_digits)
