"""The ``mmqsd`` registry scope.

Every registry here is a child of mmengine's root registry, so configs running
under ``default_scope='mmdet'`` / ``'mmseg'`` / ``'mmpretrain'`` can name our
types as ``type='mmqsd.QSDTransformer'``.  Inside mmqsd, build mmqsd-only types
with the class itself or ``MODELS.get(...)``: ``MODELS.build`` resolves names in
the *caller's* default scope (see ``shared/reference/openmmlab-stack.md`` §1.2).
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmqsd', locations=['mmqsd.models'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='mmqsd', locations=['mmqsd.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='mmqsd', locations=['mmqsd.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='mmqsd', locations=['mmqsd.datasets'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmqsd', locations=['mmqsd.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope='mmqsd', locations=['mmqsd.engine'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='mmqsd', locations=['mmqsd.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, scope='mmqsd', locations=['mmqsd.evaluation'])
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS, scope='mmqsd', locations=['mmqsd.visualization'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope='mmqsd',
    locations=['mmqsd.engine'])
OPTIM_WRAPPERS = Registry('optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='mmqsd',
                          locations=['mmqsd.engine'])
