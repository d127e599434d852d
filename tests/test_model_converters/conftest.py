"""Fixtures of the converter tests."""
import importlib.util
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture
def load_tool():
    def load(relpath):
        name = osp.splitext(osp.basename(relpath))[0]
        spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, relpath))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load
