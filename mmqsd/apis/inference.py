"""Build an mmqsd (or any OpenMMLab) model from a config file, optionally with a checkpoint."""
from typing import Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint

from ..utils.checkpoint_file import check_checkpoint_file


def load_config(config: Union[str, Config], cfg_options: Optional[dict] = None) -> Config:
    """Read a config file (or copy a Config) and merge ``cfg_options``."""
    cfg = Config.fromfile(config) if isinstance(config, str) else config.copy()
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_model_from_config(config: Union[str, Config], cfg_options: Optional[dict] = None):
    """Build ``cfg.model`` in the config's ``default_scope`` (mmpretrain/mmdet/mmseg)."""
    import mmqsd  # noqa: F401  registers mmqsd types and compat fixes
    cfg = load_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:  # as mmengine's Runner does
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    model.cfg = cfg
    return model


def init_model(config: Union[str, Config], checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu', cfg_options: Optional[dict] = None):
    """Build the model of ``config``, load ``checkpoint`` (strictly) and move it to ``device``.

    Without a checkpoint the model keeps the weights it was constructed with
    (``init_cfg`` such as ``Pretrained`` is not applied: tools analyse the
    architecture, training runs apply it).

    Raises:
        CheckpointFileError: a local checkpoint file that is missing, empty,
            not a ``torch.save`` file, truncated, damaged or whose
            ``-<sha256 prefix>.pth`` name does not match its content
            (:mod:`mmqsd.utils.checkpoint_file`).
    """
    if checkpoint is not None:
        check_checkpoint_file(checkpoint)  # before the (slower) model build
    model = build_model_from_config(config, cfg_options)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.to(device).eval()
