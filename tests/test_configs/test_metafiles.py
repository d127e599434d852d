"""The model zoo metafiles (docs/model_zoo.md) parse, point at real configs and cover every config."""
import glob
import os.path as osp
import re

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TASKS = ('cls', 'det', 'seg', 'csdformer', 'transfer')
METAFILES = [f'configs/{task}/metafile.yml' for task in TASKS]
# A short alias is a config whose only statement is `_base_ = ['./target.py']`.
ALIAS_RE = re.compile(r"_base_\s*=\s*\[\s*'\./([^'/]+\.py)'\s*,?\s*\]")


def _load(rel):
    with open(osp.join(ROOT, rel)) as f:
        return yaml.safe_load(f)


def _code(path):
    with open(path) as f:
        return '\n'.join(line for line in f.read().splitlines()
                         if line.strip() and not line.lstrip().startswith('#'))


def _alias_target(rel):
    """`configs/x/target.py` if `rel` is a short alias, else None."""
    match = ALIAS_RE.fullmatch(_code(osp.join(ROOT, rel)).strip())
    return osp.join(osp.dirname(rel), match.group(1)) if match else None


def _configs():
    paths = []
    for task in TASKS:
        for path in glob.glob(osp.join(ROOT, 'configs', task, '**', '*.py'), recursive=True):
            if '_base_' not in path.split(osp.sep):
                paths.append(osp.relpath(path, ROOT).replace(osp.sep, '/'))
    return sorted(paths)


def _models():
    return [m for rel in METAFILES for m in _load(rel)['Models']]


def test_model_index_imports_every_metafile():
    index = _load('model-index.yml')
    assert sorted(index['Import']) == sorted(METAFILES)
    for rel in index['Import']:
        assert osp.isfile(osp.join(ROOT, rel)), rel


@pytest.mark.parametrize('rel', METAFILES)
def test_metafile_structure(rel):
    meta = _load(rel)
    assert set(meta) == {'Collections', 'Models'}
    collections = {c['Name']: c for c in meta['Collections']}
    for c in collections.values():
        assert c['Metadata']['Training Data'] and c['Metadata']['Architecture']
        assert c['Paper']['Title'] and c['Paper']['URL'].startswith('https://')
        assert osp.isfile(osp.join(ROOT, c['README'])), c['README']
    for m in meta['Models']:
        assert m['In Collection'] in collections, m['Name']
        assert osp.isfile(osp.join(ROOT, m['Config'])), m['Config']
        assert m['Weights'] is None  # no checkpoint is released
        for alias in m.get('Aliases', []):
            assert _alias_target(alias) == m['Config'], alias
        # the convention of docs/model_zoo.md: every number says where it comes from
        for result in m.get('Results', []):
            assert result['Task'] and result['Dataset'] and result['Metrics']
            assert result['Source'].startswith(('paper (', 'verified (')), m['Name']
        verified = [k for k in m['Metadata'] if k.endswith('(verified)')]
        if verified:
            assert {'Verified with', 'Verified by'} & set(m['Metadata']), m['Name']


def test_names_and_configs_are_unique():
    models = _models()
    assert len({m['Name'] for m in models}) == len(models)
    assert len({m['Config'] for m in models}) == len(models)


def test_every_config_is_listed():
    models = _models()
    listed = {m['Config'] for m in models}
    aliases = {a for m in models for a in m.get('Aliases', [])}
    configs = _configs()
    missing = [c for c in configs if c not in listed and c not in aliases]
    assert not missing, f'configs missing from the metafiles: {missing}'
    # short aliases are listed under their target, never as models of their own
    for rel in configs:
        if _alias_target(rel) is not None:
            assert rel in aliases and rel not in listed, rel
    assert len(configs) > 60


def test_model_zoo_doc_mentions_every_config():
    with open(osp.join(ROOT, 'docs', 'model_zoo.md')) as f:
        doc = f.read()
    for rel in _configs():
        assert osp.basename(rel) in doc, rel
