"""mmqsd.registry: every registry is used and points only at real modules (issue 14, item 5).

mmengine imports a registry's ``locations`` on its first lookup; the old
``METRICS`` / ``EVALUATOR`` / ``VISUALIZERS`` named ``mmqsd.evaluation`` and
``mmqsd.visualization``, which do not exist, so ``METRICS.get('Accuracy')``
through the ``mmqsd`` scope raised ``ModuleNotFoundError``.
"""
import importlib

import pytest
from mmengine.registry import METRICS, MODELS, VISUALIZERS, DefaultScope, Registry

import mmqsd  # noqa: F401  registers every mmqsd module
from mmqsd import registry as mmqsd_registry

REGISTRIES = {name: value for name, value in vars(mmqsd_registry).items()
              if isinstance(value, Registry) and value.scope == 'mmqsd'}


def test_the_registries_are_the_ones_mmqsd_registers_into():
    assert set(REGISTRIES) == {'MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'OPTIM_WRAPPERS'}
    assert set(mmqsd_registry.__all__) == set(REGISTRIES)


@pytest.mark.parametrize('name', sorted(REGISTRIES))
def test_locations_import_and_hold_every_registered_module(name):
    registry = REGISTRIES[name]
    assert registry.scope == 'mmqsd' and registry._locations
    for location in registry._locations:
        importlib.import_module(location)
    assert registry.module_dict, f'{name} is unused: remove it'
    for cls in registry.module_dict.values():
        assert any(cls.__module__.startswith(loc) for loc in registry._locations), cls


@pytest.mark.parametrize('root', [METRICS, VISUALIZERS, MODELS])
def test_lookups_through_the_mmqsd_scope_do_not_crash(root):
    """The issue's input: ``METRICS.get('Accuracy')`` with the mmqsd scope."""
    assert root.get('mmqsd.Accuracy') is None
    with DefaultScope.overwrite_default_scope('mmqsd'):
        assert root.get('Accuracy') is None or root is MODELS


def test_other_scopes_still_resolve_with_mmqsd_as_default():
    with METRICS.switch_scope_and_registry('mmqsd') as metrics:
        assert metrics.get('mmpretrain.Accuracy').__module__.startswith('mmpretrain')
    with MODELS.switch_scope_and_registry('mmqsd') as models:
        assert models.get('QSDTransformer') is mmqsd_registry.MODELS.get('QSDTransformer')
    assert MODELS.get('mmqsd.SpikingFPN').__name__ == 'SpikingFPN'
