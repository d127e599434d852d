"""Command-line handling of the tools, checked in-process (no training)."""
import importlib.util
import os
import os.path as osp
import stat

import pytest


@pytest.fixture(scope='module')
def load_tool(repo_root):
    """Import a script under tools/ as a module."""
    def load(relpath):
        name = osp.splitext(osp.basename(relpath))[0]
        spec = importlib.util.spec_from_file_location(name, osp.join(repo_root, relpath))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture(scope='module')
def train_tool(load_tool):
    return load_tool('tools/train.py')


@pytest.mark.parametrize('argv, resume, load_from', [
    ([], False, None),
    (['--resume'], True, None),
    (['--resume', 'auto'], True, None),
    (['--resume', 'some/epoch_3.pth'], True, 'some/epoch_3.pth'),
])
def test_train_resume_argument(train_tool, demo_config, argv, resume, load_from):
    args = train_tool.parse_args([demo_config, *argv])
    cfg = train_tool.merge_train_args(train_tool.load_config(args), args)
    assert (cfg.resume, cfg.load_from) == (resume, load_from)


def test_train_switches(train_tool, demo_config):
    args = train_tool.parse_args([demo_config, '--no-validate', '--auto-scale-lr',
                                  '--cfg-options', 'train_cfg.max_epochs=2'])
    cfg = train_tool.merge_train_args(train_tool.load_config(args), args)
    assert cfg.val_cfg is None and cfg.val_dataloader is None and cfg.val_evaluator is None
    assert cfg.train_cfg.max_epochs == 2 and cfg.auto_scale_lr.enable
    assert cfg.work_dir == osp.join('work_dirs', 'qsd_t_demo_digits')


def test_auto_scale_lr_needs_a_base_batch_size(train_tool, demo_config):
    args = train_tool.parse_args([demo_config, '--auto-scale-lr'])
    cfg = train_tool.load_config(args)
    cfg.auto_scale_lr = dict()
    with pytest.raises(SystemExit, match='base_batch_size'):
        train_tool.merge_train_args(cfg, args)


def test_test_tool_arguments(load_tool, demo_config):
    args = load_tool('tools/test.py').parse_args([demo_config, 'ckpt.pth', '--out', 'r.pkl'])
    assert (args.checkpoint, args.out, args.launcher) == ('ckpt.pth', 'r.pkl', 'none')


def test_make_demo_data_cli(load_tool, digits_root, capsys):
    tool = load_tool('tools/misc/make_demo_data.py')
    tool.main(['digits', '--out', digits_root])  # already complete: kept as is
    assert capsys.readouterr().out.startswith(f'kept existing digits demo data in {digits_root}')
    with pytest.raises(SystemExit):
        tool.main(['no-such-kind'])


def test_slurm_train_builds_the_srun_command(tmp_path, run_tool, demo_config):
    fake = tmp_path / 'srun'
    fake.write_text('#!/usr/bin/env bash\necho "srun $*"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    proc = run_tool('tools/slurm_train.sh', 'gpu', 'qsd', demo_config, 'work_dirs/x', '--amp',
                    env=dict(PATH=f'{tmp_path}:{os.environ["PATH"]}', GPUS='16'))
    line = proc.stdout.strip()
    for part in ('-p gpu', '--job-name=qsd', '--gres=gpu:8', '--ntasks=16', '--ntasks-per-node=8',
                 'tools/train.py ' + demo_config, '--work-dir=work_dirs/x', '--launcher=slurm',
                 '--amp'):
        assert part in line, part


def test_train_without_data_names_the_fix(train_tool, tmp_path, demo_config):
    missing = tmp_path / 'demo_digits'
    with pytest.raises(FileNotFoundError, match=f'make_demo_data.py digits --out {missing}'):
        train_tool.main([demo_config, '--work-dir', str(tmp_path), '--cfg-options',
                         f'train_dataloader.dataset.data_root={missing}'])
