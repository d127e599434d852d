"""OpenMMLab's `mim` on an installed (not editable) mmqsd (docs/install.md, "mim").

`pip install --target` builds mmqsd's wheel from a copy of the sources (so the checkout
gets no build/ folder) into a temporary folder put first on PYTHONPATH; `mim search`,
`mim train` and `mim test` then find mmqsd's `.mim/` folder there.
"""
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import yaml

mim_search = pytest.importorskip('mim.commands.search', reason='openmim not installed')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SOURCES = ('setup.py', 'MANIFEST.in', 'model-index.yml', 'mmqsd', 'configs', 'tools',
           'requirements')
DEMO = 'qsd-mini_1xb32-adamw-30e_demo-digits.py'


def _metadata():
    return mim_search.convert2df(mim_search.load(osp.join(ROOT, 'model-index.yml')))


def test_mim_reads_every_model_with_numbers_and_their_source():
    """mim's own parser: numbers stay numbers, each with a `paper`/`measured` field."""
    df = _metadata()
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        metafiles = yaml.safe_load(f)['Import']
    names = [m['Name'] for rel in metafiles
             for m in yaml.safe_load(open(osp.join(ROOT, rel)))['Models']]
    assert sorted(df.index) == sorted(names)
    row = df.loc['qsd-t_8xb196-lamb-300e_in1k']
    assert row['imagenet-1k/top_1_accuracy'] == 75.8
    assert row['results_source'].startswith('paper (qsd table 5')
    assert row['paper_parameters(millions)'] == 1.8 and row['paper_power(mj)'] == 2.5
    assert row['measured_parameters'] == 15116720
    demo = df.loc['mask-rcnn_qsd-mini_spiking-fpn_1xb8-12e_demo-coco']
    assert demo['results_source'].startswith('measured (')
    # no column is a provenance marker read as a unit, as "Parameters (paper)" was
    assert not [c for c in df.columns if '(paper)' in c or '(verified)' in c]
    for column in df.columns:
        if '/' in column or column.startswith(('paper_', 'measured_')):
            values = df[column].dropna()
            if column not in ('paper_bits', 'measured_with'):
                assert all(isinstance(v, (int, float)) for v in values), column
            has_results = df.loc[values.index]
            if '/' in column:  # a result: its source is always given
                assert has_results['results_source'].notna().all(), column


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """mmqsd installed from a wheel into a fresh folder; returns (env, site folder)."""
    src = tmp_path_factory.mktemp('src')
    for name in SOURCES:
        path = osp.join(ROOT, name)
        if osp.isdir(path):
            shutil.copytree(path, src / name,
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info'))
        else:
            shutil.copy2(path, src / name)
    site = tmp_path_factory.mktemp('site')
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-build-isolation',
         '--no-index', '--disable-pip-version-check', '-q', '--target', str(site), str(src)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get('PYTHONPATH', '')]),
               OMP_NUM_THREADS='1')
    return env, site


def _mim(env, cwd, *args):
    proc = subprocess.run([sys.executable, '-m', 'mim', *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f'mim {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc.stdout


@pytest.mark.slow
def test_wheel_ships_the_mim_folder(installed):
    env, site = installed
    mim_dir = site / 'mmqsd' / '.mim'
    assert (mim_dir / 'model-index.yml').is_file()
    assert (mim_dir / 'tools' / 'train.py').is_file() and (mim_dir / 'tools' / 'test.py').is_file()
    assert (mim_dir / 'configs' / 'cls' / DEMO).is_file()
    assert (mim_dir / 'configs' / 'cls' / 'metafile.yml').is_file()
    shipped = sorted(str(p.relative_to(mim_dir / 'configs')) for p in
                     (mim_dir / 'configs').rglob('*') if p.suffix in ('.py', '.yml', '.md'))
    ours = sorted(osp.relpath(p, osp.join(ROOT, 'configs')) for p in
                  glob.glob(osp.join(ROOT, 'configs', '**', '*'), recursive=True)
                  if p.endswith(('.py', '.yml', '.md')))
    assert shipped == ours  # every config, alias, metafile and README, nothing else
    where = subprocess.run(  # found, not imported: the installed copy, not the checkout
        [sys.executable, '-c', 'import importlib.util as u; print(u.find_spec("mmqsd").origin)'],
        env=env, cwd=site, capture_output=True, text=True, check=True).stdout
    assert where.strip().startswith(str(site))


@pytest.mark.slow
def test_mim_search_lists_the_zoo_with_sources(installed, tmp_path):
    env, _ = installed
    out = _mim(env, tmp_path, 'search', 'mmqsd', '--config', 'qsd-t_8xb196-lamb-300e_in1k',
               '--field', 'results_source', 'imagenet-1k/top_1_accuracy',
               'paper_parameters(millions)')
    assert 'qsd-t_8xb196-lamb-300e_in1k' in out
    assert re.search(r'results_source\s+paper \(qsd table 5', out), out
    assert re.search(r'imagenet-1k/top_1_accuracy\s+75\.8', out), out
    assert re.search(r'paper_parameters\(millions\)\s+1\.8', out), out
    everything = _mim(env, tmp_path, 'search', 'mmqsd')
    assert 'mask-rcnn_qsd-t_spiking-fpn_4xb3-24e_coco' in everything


@pytest.mark.slow
def test_mim_train_and_test_run_a_config_by_name(installed, digits_root, tmp_path):
    env, site = installed
    work_dir = tmp_path / 'work'
    data = [f'{loader}.{key}' for loader in ('train_dataloader', 'val_dataloader',
                                            'test_dataloader')
            for key in ('dataset.data_root', 'num_workers', 'persistent_workers', 'batch_size')]
    values = [digits_root, '0', 'False', '8'] * 3
    options = [f'{k}={v}' for k, v in zip(data, values)] + [
        'train_dataloader.dataset.indices=16', 'val_dataloader.dataset.indices=8',
        'test_dataloader.dataset.indices=8', 'train_cfg.max_epochs=1',
        'default_hooks.checkpoint.interval=1']
    out = _mim(env, tmp_path, 'train', 'mmqsd', DEMO, '--work-dir', str(work_dir),
               '--cfg-options', *options)
    # mim found the config and the training script inside the installed package
    assert str(site / 'mmqsd' / '.mim' / 'configs' / 'cls' / DEMO) in out
    assert str(site / 'mmqsd' / '.mim' / 'tools' / 'train.py') in out
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()
    out = _mim(env, tmp_path, 'test', 'mmqsd', 'qsd_t_demo_digits.py',  # a short alias
               '--checkpoint', str(checkpoint), '--work-dir', str(tmp_path / 'test'),
               '--cfg-options', *options)
    assert str(site / 'mmqsd' / '.mim' / 'tools' / 'test.py') in out
    assert 'accuracy/top1' in out
