"""Make mmengine's ``compile`` option cover training, validation and test.

mmengine 0.10.7 reads ``cfg.compile`` (``True`` or a dict of
:func:`torch.compile` keyword arguments) only in ``Runner.train()``, where it
replaces ``model.train_step`` by ``torch.compile(model.train_step, **cfg)``:
the whole step (data preprocessor, forward, loss, ``backward`` and the
optimizer step) is handed to TorchDynamo.  Three things stop that from being
enough for QSD models:

1. Validation and ``Runner.test()`` (``tools/test.py``) never compile.
2. The optimizer's parameter groups are mmengine ``ConfigDict`` objects when
   the optim wrapper is built from a config with ``paramwise_cfg``
   (``DefaultOptimWrapperConstructor`` puts the group list into a ``ConfigDict``,
   which converts every dict in it).  TorchDynamo (torch 2.14) fails inside the
   compiled optimizer step on a dict subclass as parameter group with
   ``InternalTorchDynamoError: AttributeError: 'UserDefinedDictVariable' object
   has no attribute 'items'``.
3. LSQ layers set their step from the weights at their first call (after
   ``init_weights`` or a checkpoint load), but not while being compiled: a
   compiled run from scratch kept the construction-time steps (a different loss
   from the first iteration on).

:class:`CompileHook` fixes all three: before the first compiled step it runs
the pending step initialisations eagerly
(:func:`mmqsd.layers.quant.init_pending_steps`), before training it turns the
parameter groups into plain dicts (same keys, values and order; the optimizer
and its schedulers keep working on the same list), and before the first
validation / test it compiles ``val_step`` / ``test_step`` with the same options.

``tools/train.py`` and ``tools/test.py`` add it whenever ``compile`` is set
(:func:`mmqsd.utils.launch.build_runner`); with a plain ``Runner`` add
``dict(type='mmqsd.CompileHook')`` to ``custom_hooks``.  docs/benchmarks.md
("torch.compile") lists what is compiled and the measured speed.
"""
from typing import Dict, Union

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...layers.quant import init_pending_steps
from ...registry import HOOKS


def compile_options(compile_cfg: Union[bool, Dict, None]) -> Union[Dict, None]:
    """The :func:`torch.compile` keyword arguments for a config's ``compile`` entry.

    Args:
        compile_cfg: ``cfg.compile``: ``None``/``False`` (off), ``True`` (torch's
            defaults: the inductor back end) or a dict of keyword arguments
            (e.g. ``dict(backend='aot_eager')``), as mmengine's Runner reads it.

    Returns:
        ``None`` when compilation is off, else the keyword arguments.

    Raises:
        TypeError: ``compile_cfg`` is neither a bool nor a dict.
    """
    if compile_cfg is None or compile_cfg is False:
        return None
    if compile_cfg is True:
        return {}
    if not isinstance(compile_cfg, dict):
        raise TypeError(f'compile must be True/False or a dict of torch.compile arguments '
                        f'(e.g. compile=dict(backend="inductor")), got {compile_cfg!r}')
    return dict(compile_cfg)


def plain_param_groups(optim_wrapper) -> int:
    """Turn an optim wrapper's parameter groups into plain ``dict`` objects, in place.

    Handles :class:`~mmengine.optim.OptimWrapperDict` (every optimizer in it).
    The list object is kept, so param schedulers built on the optimizer stay valid.

    Returns:
        The number of groups converted (already plain ones are left alone).
    """
    wrappers = getattr(optim_wrapper, 'optim_wrappers', None)
    wrappers = wrappers.values() if wrappers is not None else [optim_wrapper]
    converted = 0
    for wrapper in wrappers:
        groups = wrapper.optimizer.param_groups
        for i, group in enumerate(groups):
            if type(group) is not dict:
                groups[i] = dict(group)
                converted += 1
    return converted


@HOOKS.register_module()
class CompileHook(Hook):
    """Apply a ``compile`` config to the training, validation and test steps.

    Args:
        modules: ``None`` (default): follow ``runner.cfg.compile`` -- mmengine has
            compiled ``train_step``; this hook makes its optimizer compilable and compiles
            ``val_step`` / ``test_step`` with the same options (nothing when ``compile``
            is unset or ``False``).  Or names of submodules (e.g. ``('backbone', 'neck')``):
            only their ``forward`` is compiled (:meth:`torch.nn.Module.compile`, in place,
            so checkpoints keep their keys), in training, validation and test; the rest of
            the step (losses, proposal sampling, NMS, the optimizer) stays eager.  That is
            what ``compile=dict(modules=[...], **options)`` in a config turns into
            (:func:`mmqsd.utils.launch.add_compile_hook`).
        options: :func:`torch.compile` keyword arguments for ``modules``.

    Raises:
        ValueError: a name in ``modules`` is not a submodule of the model.
    """

    priority = 'VERY_HIGH'

    def __init__(self, modules=None, options=None):
        self.modules = None if modules is None else tuple(modules)
        self.options = dict(options or {})

    def _options(self, runner):
        if self.modules is not None:
            return None  # whole steps are not compiled
        return compile_options(runner.cfg.get('compile', None))

    def before_run(self, runner) -> None:
        if self.modules is None:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for name in self.modules:
            try:
                module = model.get_submodule(name)
            except AttributeError:
                raise ValueError(
                    f'compile modules: the model ({type(model).__name__}) has no submodule '
                    f'{name!r}; name direct children such as '
                    f'{[n for n, _ in model.named_children()]}') from None
            if getattr(module, '_compiled_call_impl', None) is None:
                module.compile(**self.options)
                runner.logger.info(f'model.{name} compiled with torch.compile({self.options})')

    def _init_steps(self, runner) -> None:
        # Weights are initialised / loaded by now; give LSQ layers their first-call step
        # eagerly (compiled code skips it: mmqsd.layers.quant.init_pending_steps).
        if self.modules is not None or self._options(runner) is not None:
            init_pending_steps(runner.model)

    def before_train(self, runner) -> None:
        # Runner.train() has wrapped train_step in torch.compile (lazily: nothing is
        # traced before the first iteration, which comes after this hook).
        self._init_steps(runner)
        if self._options(runner) is not None:
            plain_param_groups(runner.optim_wrapper)

    def _compile_step(self, runner, name: str) -> None:
        self._init_steps(runner)
        options = self._options(runner)
        step = getattr(runner.model, name)
        if options is None or getattr(step, '_mmqsd_compiled', False):
            return
        compiled = torch.compile(step, **options)
        compiled._mmqsd_compiled = True
        setattr(runner.model, name, compiled)
        runner.logger.info(f'model.{name} compiled with torch.compile({options})')

    def before_val(self, runner) -> None:
        self._compile_step(runner, 'val_step')

    def before_test(self, runner) -> None:
        self._compile_step(runner, 'test_step')
