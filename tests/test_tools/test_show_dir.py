"""tools/test.py --show/--show-dir/--wait-time: the upstream meaning for all three task kinds,
and a tiny run of each that writes the drawn images."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmqsd.apis import build_model_from_config
from mmqsd.apis.visualization import enable_test_visualization

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_DEMO = osp.join(ROOT, 'configs/det/qsd_t_maskrcnn_demo.py')
SEG_DEMO = osp.join(ROOT, 'configs/seg/qsd_t_fpn_demo.py')


def test_det_hook_draws_into_test_out_dir():
    cfg = enable_test_visualization(Config.fromfile(DET_DEMO), show_dir='vis')
    hook = cfg.default_hooks.visualization
    assert hook.type.endswith('DetVisualizationHook') and hook.draw and hook.test_out_dir == 'vis'
    assert not hook.get('show')


def test_seg_hook_draws_through_the_visualizer_save_dir():
    cfg = enable_test_visualization(Config.fromfile(SEG_DEMO), show=True, show_dir='vis',
                                    wait_time=0.5)
    hook = cfg.default_hooks.visualization
    assert hook.type.endswith('SegVisualizationHook') and hook.draw
    assert cfg.visualizer.save_dir == 'vis' and hook.show and hook.wait_time == 0.5
    assert cfg.train_dataloader is None and cfg.optim_wrapper is None  # test runs only


def test_cls_hook_enabled_with_out_dir(demo_config):
    cfg = enable_test_visualization(Config.fromfile(demo_config), show_dir='vis', interval=3)
    hook = cfg.default_hooks.visualization
    assert hook.enable and hook.out_dir == 'vis' and hook.interval == 3


def test_refuses_configs_without_a_known_hook():
    cfg = Config(dict(default_hooks=dict()))
    with pytest.raises(ValueError, match='need a visualization hook'):
        enable_test_visualization(cfg, show_dir='vis')
    cfg = Config(dict(default_hooks=dict(visualization=dict(type='MyHook'))))
    with pytest.raises(ValueError, match="unknown visualization hook 'MyHook'"):
        enable_test_visualization(cfg, show_dir='vis')


def _checkpoint(config, options, path):
    """An untrained checkpoint of ``config`` (the drawing, not the accuracy, is tested)."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    torch.save(dict(state_dict=build_model_from_config(cfg).state_dict(), meta={}), path)
    return path


def _loader_options(root, extra=None):
    options = {}
    for key, value in dict(extra or {}, data_root=root).items():
        options[f'test_dataloader.dataset.{key}'] = value
    options.update({'test_dataloader.num_workers': 0, 'test_dataloader.batch_size': 2,
                    'test_dataloader.persistent_workers': False})
    return options


@pytest.mark.slow
def test_show_dir_classifier(tiny_config, tmp_path, run_tool):
    ckpt = _checkpoint(tiny_config, {}, str(tmp_path / 'cls.pth'))
    show = tmp_path / 'show'  # mmpretrain writes to --show-dir as given
    run_tool('tools/test.py', tiny_config, ckpt, '--work-dir', str(tmp_path), '--show-dir',
             str(show), '--cfg-options', 'test_dataloader.dataset.indices=4')
    assert len(glob.glob(str(show / '*.png'))) == 4


@pytest.mark.slow
def test_show_dir_segmentor(tmp_path, run_tool):
    from mmqsd.datasets import make_synthetic_ade
    root = str(tmp_path / 'demo_ade')
    make_synthetic_ade(root, num_train=1, num_val=2, size=32)
    options = dict(_loader_options(root), **{'model.backbone.arch.depths': (1, 1)})
    ckpt = _checkpoint(SEG_DEMO, options, str(tmp_path / 'seg.pth'))
    show = tmp_path / 'show'  # (the config's training set, data/demo_ade, need not exist)
    run_tool('tools/test.py', SEG_DEMO, ckpt, '--work-dir', str(tmp_path), '--show-dir',
             str(show), '--cfg-options', 'model.backbone.arch.depths=(1,1)',
             *[f'{k}={v}' for k, v in _loader_options(root).items()])
    assert len(glob.glob(str(show / 'vis_data' / 'vis_image' / '*.png'))) == 2


@pytest.mark.slow
def test_show_dir_detector(tmp_path, run_tool):
    from mmqsd.datasets.synthetic_coco import make_synthetic_coco
    root = str(tmp_path / 'demo_coco') + '/'
    make_synthetic_coco(root, num_train=1, num_val=2, size=64)
    loader = _loader_options(root, {'ann_file': 'annotations/instances_val.json'})
    options = dict(loader, **{'model.backbone.arch.depths': (1, 1),
                              'test_evaluator.ann_file': root + 'annotations/instances_val.json'})
    ckpt = _checkpoint(DET_DEMO, options, str(tmp_path / 'det.pth'))
    run_tool('tools/test.py', DET_DEMO, ckpt, '--work-dir', str(tmp_path), '--show-dir', 'vis',
             '--cfg-options', *[f'{k}={v}' for k, v in options.items()])
    assert len(glob.glob(str(tmp_path / '*' / 'vis' / '*.png'))) == 2
