"""The ``mmqsd`` registry scope.

Every registry here is a child of mmengine's root registry, so configs running
under ``default_scope='mmdet'`` / ``'mmseg'`` / ``'mmpretrain'`` can name our
types as ``type='mmqsd.QSDTransformer'``.  Inside mmqsd, build mmqsd-only types
with the class itself or ``MODELS.get(...)``: ``MODELS.build`` resolves names in
the *caller's* default scope (mmengine's registry documentation, "Use modules
of other scopes").

Only the registries mmqsd registers modules into exist, each with the package
that registers them as its ``locations``: mmengine imports a registry's
locations on its first lookup, so a location that does not exist made any
lookup through the ``mmqsd`` scope fail with ``ModuleNotFoundError``
(``tests/test_registry.py`` imports every location).  Metrics, evaluators and
visualizers come from mmengine / mmpretrain / mmdet / mmseg.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmqsd', locations=['mmqsd.models'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='mmqsd',
                    locations=['mmqsd.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='mmqsd',
                      locations=['mmqsd.datasets'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmqsd', locations=['mmqsd.engine'])
OPTIM_WRAPPERS = Registry('optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='mmqsd',
                          locations=['mmqsd.engine'])

__all__ = ['MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'OPTIM_WRAPPERS']
