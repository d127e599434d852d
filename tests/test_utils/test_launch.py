"""Tests for mmqsd.utils.launch: config loading and the pre-Runner checks."""
import argparse
import socket

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config

from mmqsd.utils import launch

requires_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')


def _args(config, *argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    launch.add_common_args(parser)
    return parser.parse_args([str(config), *argv])


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / 'my_cfg.py'
    path.write_text('train_cfg = dict(max_epochs=3)\n')
    return path


def test_load_config_work_dir_and_options(config_file, monkeypatch):
    monkeypatch.chdir(config_file.parent)
    cfg = launch.load_config(_args(config_file, '--cfg-options', 'train_cfg.max_epochs=1'))
    assert cfg.work_dir == 'work_dirs/my_cfg'
    assert cfg.train_cfg.max_epochs == 1 and cfg.launcher == 'none'
    cfg = launch.load_config(_args(config_file, '--work-dir', 'elsewhere', '--launcher', 'pytorch'))
    assert cfg.work_dir == 'elsewhere' and cfg.launcher == 'pytorch'


def _loader(root, wrapped=False):
    dataset = dict(type='CustomDataset', data_root=str(root))
    if wrapped:
        dataset = dict(type='RepeatDataset', times=2, dataset=dataset)
    return dict(dataset=dataset)


def test_check_data_roots_names_the_demo_generator(tmp_path):
    cfg = Config(dict(train_dataloader=_loader(tmp_path / 'data' / 'demo_digits', wrapped=True)))
    with pytest.raises(FileNotFoundError, match='make_demo_data.py digits --out .*demo_digits'):
        launch.check_data_roots(cfg)


def test_check_data_roots_other_data_and_existing(tmp_path):
    cfg = Config(dict(val_dataloader=_loader(tmp_path / 'imagenet'),
                      train_dataloader=_loader(tmp_path)))
    message = r'val_dataloader: data_root .*imagenet.*--cfg-options'
    with pytest.raises(FileNotFoundError, match=message):
        launch.check_data_roots(cfg)
    launch.check_data_roots(cfg, ('train_dataloader', 'test_dataloader'))  # exists / absent: fine


@requires_no_cuda
def test_amp_without_gpu_says_why():
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1))))
    with pytest.raises(SystemExit, match='--amp needs a CUDA GPU'):
        launch.enable_amp(cfg)


def _dist_cfg(backend='gloo', **extra):
    return Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend=backend)), **extra))


@requires_no_cuda
@pytest.mark.parametrize('cfg, message', [
    (_dist_cfg('nccl'), 'env_cfg.dist_cfg.backend=gloo'),
    (_dist_cfg(sync_bn='torch'), "sync_bn='torch' needs GPUs"),
    (Config(dict(launcher='slurm', env_cfg=dict())), '--launcher pytorch'),
])
def test_prepare_distributed_rejects_gpu_only_setups_on_cpu(cfg, message):
    with pytest.raises(SystemExit, match=message):
        launch.prepare_distributed(cfg)
    assert not dist.is_initialized()


def test_prepare_distributed_is_a_no_op_without_launcher():
    cfg = Config(dict(launcher='none'))
    launch.prepare_distributed(cfg)
    assert 'model_wrapper_cfg' not in cfg and not dist.is_initialized()


@pytest.fixture
def single_process_env(monkeypatch):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    for key, value in dict(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK='0',
                           WORLD_SIZE='1', LOCAL_RANK='0').items():
        monkeypatch.setenv(key, value)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


@requires_no_cuda
def test_prepare_distributed_on_cpu_inits_gloo_and_drops_device_ids(single_process_env):
    cfg = _dist_cfg(find_unused_parameters=True)
    launch.prepare_distributed(cfg)
    assert dist.is_initialized() and dist.get_backend() == 'gloo'
    assert cfg.model_wrapper_cfg == dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                                         find_unused_parameters=True, device_ids=None)


@requires_no_cuda
def test_torch_sync_bn_converts_but_cannot_train_on_cpu(single_process_env):
    """Why sync_bn is refused on CPU: torch converts the layers, then raises in training."""
    dist.init_process_group('gloo')
    model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(
        torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4)))
    assert isinstance(model[1], torch.nn.SyncBatchNorm)
    with pytest.raises(ValueError, match='SyncBatchNorm expected input tensor to be on GPU'):
        model.train()(torch.randn(2, 3, 4, 4))


def test_bf16_switches_the_plain_wrapper_and_refuses_others():
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1))))
    launch.enable_bf16(cfg)
    assert cfg.optim_wrapper.type == 'mmqsd.BF16AutocastOptimWrapper'
    cfg = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper', optimizer=dict(type='SGD'))))
    with pytest.raises(SystemExit, match='--bf16 replaces the plain OptimWrapper'):
        launch.enable_bf16(cfg)


@requires_no_cuda
def test_prepare_distributed_refuses_sync_bn_norms_before_init(single_process_env):
    """SyncBN in the model (not only the ``sync_bn`` key) is refused before gloo starts."""
    norm = dict(type='SyncBN', requires_grad=True)
    cfg = _dist_cfg(model=dict(type='EncoderDecoder', neck=dict(norm_cfg=norm),
                               decode_head=dict(norm_cfg=norm)))
    with pytest.raises(SystemExit, match=r"model\.neck\.norm_cfg\.type, model\.decode_head\."
                       r"norm_cfg\.type = SyncBN needs GPUs.*norm_cfg=dict\(type='BN'\)"):
        launch.prepare_distributed(cfg)
    assert not dist.is_initialized()
