"""configs/csdformer: the classification recipes, and CSDformer inside mmdet and mmseg."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmqsd.apis import build_model_from_config
from mmqsd.models.backbones import CSDformer

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'csdformer')
DET_CONFIG = osp.join(CONFIG_DIR, 'mask-rcnn_csdformer-8-384_fpn_1x_coco.py')
SEG_CONFIG = osp.join(CONFIG_DIR, 'fpn_csdformer-8-384_4xb4-160k_ade20k-512x512.py')
CLS_CONFIGS = sorted(p for p in glob.glob(osp.join(CONFIG_DIR, 'csdformer*.py')))
# A narrow backbone (same layout as 8-384 at 1/12 width) keeps the forward passes fast.
NARROW = {'model.backbone.arch': dict(_delete_=True, depth=2, embed_dims=32, num_heads=2),
          'model.neck.in_channels': [16, 32, 32]}


@pytest.mark.parametrize('path', CLS_CONFIGS, ids=osp.basename)
def test_classification_configs_build_the_qann(path):
    cfg = Config.fromfile(path)
    arch, in_channels = cfg.model.backbone.arch, cfg.model.head.in_channels
    dim = arch if isinstance(arch, str) else arch['embed_dims']
    assert cfg.model.backbone.quantized and cfg.model.backbone.levels == 4
    assert in_channels == (int(dim.split('-')[1]) if isinstance(dim, str) else dim)
    if 'in1k' in path:  # ImageNet recipe: AdamW 5e-4, batch 8 x 36, 310 epochs
        assert (cfg.optim_wrapper.optimizer.lr, cfg.train_dataloader.batch_size,
                cfg.train_cfg.max_epochs) == (5e-4, 36, 310)
    else:  # small-image recipes use the CIFAR tokenizer (two max-pools)
        assert cfg.model.backbone.img_size == 32
    narrow = {'model.backbone.arch': dict(_delete_=True, depth=1, embed_dims=16, num_heads=2),
              'model.head.in_channels': 16}
    model = build_model_from_config(path, narrow).eval()
    assert isinstance(model.backbone, CSDformer)
    size = cfg.model.backbone.img_size
    with torch.no_grad():
        logits = model(torch.randn(1, 3, size, size), mode='tensor')
    assert logits.shape == (1, cfg.model.head.num_classes)


def test_detection_config_builds_a_mask_rcnn_on_a_multiscale_csdformer():
    model = build_model_from_config(DET_CONFIG, NARROW).eval()
    assert type(model).__name__ == 'MaskRCNN' and isinstance(model.backbone, CSDformer)
    assert model.backbone.num_pools == 4
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 128, 96))
    # FPN levels at strides 4, 8, 16 from the backbone, 32 and 64 by extra max-pools
    assert [f.shape[-2:] for f in feats] == [(32, 24), (16, 12), (8, 6), (4, 3), (2, 2)]
    full = Config.fromfile(DET_CONFIG).model
    assert full.neck.in_channels == [192, 384, 384] and full.backbone.out_indices == (2, 3, -1)


def test_segmentation_config_builds_a_semantic_fpn_on_a_multiscale_csdformer():
    model = build_model_from_config(SEG_CONFIG, NARROW).eval()
    assert type(model).__name__ == 'EncoderDecoder' and isinstance(model.backbone, CSDformer)
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert logits.shape == (1, 150, 16, 16)  # FPN head output at stride 4
    full = Config.fromfile(SEG_CONFIG).model
    assert full.neck.in_channels == [192, 384, 384] and full.neck.num_outs == 4
