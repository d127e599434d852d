"""The model zoo metafiles (docs/model_zoo.md) parse, point at real configs and cover every config;
every config name follows OpenMMLab's naming scheme or is a short alias of one that does."""
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config

from config_helpers import ROOT, TASKS, alias_target, task_configs

METAFILES = [f'configs/{task}/metafile.yml' for task in TASKS]
# OpenMMLab's config names: {algorithm}_{backbone}_{neck/variant}_{training}_{data}, fields
# joined by `_`, words inside a field by `-`; training = {gpus}xb{batch}-{schedule...}
# (or mmdet's `1x`), data = the data set and input size, e.g.
# mask-rcnn_qsd-t_spiking-fpn_4xb3-24e_coco, fpn_qsd-t_4xb5-160k_ade20k-512x512.
FIELD = r'[a-z0-9][a-z0-9.-]*'
CONFIG_NAME_RE = re.compile(rf'{FIELD}(_{FIELD})*_(\d+xb\d+(-[a-z0-9.]+)*|\d+x)_{FIELD}')
# Metadata keys may end in a lower-case unit in brackets (mim lower-cases what users type but
# keeps a unit's case); a number's provenance is its key's first word.
UNITS = ('(millions)', '(mj)')


def _load(rel):
    with open(osp.join(ROOT, rel)) as f:
        return yaml.safe_load(f)


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
            assert alias_target(alias) == m['Config'], alias
        assert m['Name'] == osp.basename(m['Config'])[:-3]
        _check_provenance(m)


def _check_provenance(m):
    """The convention of docs/model_zoo.md: every number says where it comes from, in a
    field `mim search` prints (mim reads a key's last bracketed word as a unit)."""
    meta = m['Metadata']
    for key, value in meta.items():
        assert '(paper)' not in key and '(verified)' not in key, (m['Name'], key)
        if '(' in key:
            assert key.endswith(UNITS) and key.count('(') == 1, (m['Name'], key)
            assert isinstance(value, (int, float)), (m['Name'], key, value)
        if key.startswith(('Paper ', 'Measured ')) and key not in ('Measured With', 'Paper Bits'):
            assert isinstance(value, (int, float)), (m['Name'], key, value)
    if any(k.startswith('Measured ') for k in meta):
        assert {'Measured With', 'Tested By'} & set(meta), m['Name']
    results = m.get('Results', [])
    for result in results:
        assert result['Task'] and result['Dataset'] and result['Metrics']
        assert 'Source' not in result, 'mim does not print Results[].Source: use Results Source'
        assert all(isinstance(v, (int, float)) for v in result['Metrics'].values()), m['Name']
    if results:
        assert meta['Results Source'].startswith(('paper (', 'measured (')), m['Name']
    else:
        assert 'Results Source' not in meta, m['Name']


def test_names_and_configs_are_unique():
    models = _models()
    assert len({m['Name'] for m in models}) == len(models)
    assert len({m['Config'] for m in models}) == len(models)


def _aliases():
    return [rel for rel in task_configs() if alias_target(rel) is not None]


@pytest.mark.parametrize('rel', _aliases())
def test_short_aliases_equal_their_targets(rel):
    alias = Config.fromfile(osp.join(ROOT, rel))
    full = Config.fromfile(osp.join(ROOT, alias_target(rel)))
    assert alias.to_dict() == full.to_dict()


def test_every_config_is_listed():
    models = _models()
    listed = {m['Config'] for m in models}
    aliases = {a for m in models for a in m.get('Aliases', [])}
    configs = task_configs()
    missing = [c for c in configs if c not in listed and c not in aliases]
    assert not missing, f'configs missing from the metafiles: {missing}'
    # short aliases are listed under their target, never as models of their own
    for rel in configs:
        if alias_target(rel) is not None:
            assert rel in aliases and rel not in listed, rel
    assert len(configs) > 60


@pytest.mark.parametrize('rel', task_configs())
def test_config_names_follow_openmmlab_scheme(rel):
    """Every task config is named {algorithm}_{backbone}_..._{training}_{data}.py, or is a
    one-line short alias (`_base_ = ['./full-name.py']`) of a config that is."""
    name = osp.basename(rel)[:-3]
    if CONFIG_NAME_RE.fullmatch(name):
        return
    target = alias_target(rel)
    assert target is not None, f'{rel} is neither OpenMMLab-named nor a short alias'
    assert CONFIG_NAME_RE.fullmatch(osp.basename(target)[:-3]), f'{rel} aliases {target}'


@pytest.mark.parametrize('name, ok', [
    ('mask-rcnn_qsd-t_spiking-fpn_4xb3-24e_coco', True),
    ('fpn_qsd-t_4xb5-160k_ade20k-512x512', True),
    ('mask-rcnn_csdformer-8-384_fpn_1x_coco', True),
    ('qsd-t_8xb196-lamb-300e_in1k', True),
    ('qsd_t_in1k', False),  # the old short names
    ('qsd_t_maskrcnn_demo', False),
    ('ann_t_fpn_ade20k', False),
    ('qsd-t_in1k', False),  # no training field
    ('QSD-T_8xb196_in1k', False),  # upper case
])
def test_config_name_scheme(name, ok):
    assert bool(CONFIG_NAME_RE.fullmatch(name)) == ok


def test_model_zoo_doc_mentions_every_config():
    with open(osp.join(ROOT, 'docs', 'model_zoo.md')) as f:
        doc = f.read()
    for rel in task_configs():
        assert osp.basename(rel) in doc, rel
