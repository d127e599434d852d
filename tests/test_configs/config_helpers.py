"""What the config tests share: the task configs and what makes a config a short alias."""
import glob
import os.path as osp
import re

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TASKS = ('cls', 'det', 'seg', 'csdformer', 'transfer')
# A short alias is a config whose only statement is `_base_ = ['./target.py']`.
ALIAS_RE = re.compile(r"_base_\s*=\s*\[\s*'\./([^'/]+\.py)'\s*,?\s*\]")


def _code(path):
    with open(path) as f:
        return '\n'.join(line for line in f.read().splitlines()
                         if line.strip() and not line.lstrip().startswith('#'))


def alias_target(rel):
    """`configs/x/target.py` if the config `rel` (relative to ROOT) is a short alias, else None."""
    match = ALIAS_RE.fullmatch(_code(osp.join(ROOT, rel)).strip())
    return osp.join(osp.dirname(rel), match.group(1)).replace(osp.sep, '/') if match else None


def task_configs():
    """Every config under configs/{TASKS} but the _base_ files, relative to ROOT, sorted."""
    paths = []
    for task in TASKS:
        for path in glob.glob(osp.join(ROOT, 'configs', task, '**', '*.py'), recursive=True):
            if '_base_' not in path.split(osp.sep):
                paths.append(osp.relpath(path, ROOT).replace(osp.sep, '/'))
    return sorted(paths)
