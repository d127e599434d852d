"""No shipped config trips the pre-flight checks of mmqsd.utils.config_checks.

The checks that refuse wrong configs are tested on bad inputs in
tests/test_utils/test_config_checks.py; this makes sure none of them refuses
a good one.  The checkpoint files the configs name are not shipped, so
``check_checkpoint_files`` is left out.
"""
import os.path as osp

import pytest
from mmengine.config import Config

from config_helpers import ROOT, alias_target, task_configs
from mmqsd.utils import config_checks as checks

CONFIGS = [rel for rel in task_configs() if alias_target(rel) is None]


@pytest.mark.slow
def test_every_shipped_config_passes_the_config_checks():
    """Registry scopes, ``pretrained``, SyncBN (single process) and channels, incl. the
    backbone's argument checks; one test, as loading the configs is the cost."""
    assert len(CONFIGS) > 40
    for rel in CONFIGS:
        cfg = Config.fromfile(osp.join(ROOT, rel))
        cfg.setdefault('launcher', 'none')
        for check in (checks.check_registry_scopes, checks.check_pretrained_key,
                      checks.check_sync_bn, checks.check_channels):
            try:
                check(cfg)
            except Exception as error:
                raise AssertionError(f'{rel}: {check.__name__}: {error}') from error
