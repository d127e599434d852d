"""A hook for tests/test_tools/test_distributed.py: what each rank of a run computed.

Imported by the training processes through ``custom_imports`` (the test puts this
folder on ``PYTHONPATH``).  Every rank writes ``rank{R}.pth`` to the work dir at the
end of the run: its per-iteration losses, its final model state, and the step an
:class:`~mmqsd.layers.LSQActQuant` initialises from this rank's share of
:func:`act_quant_batch` (CSDformer's data-dependent initialisation, which averages
over the ranks).
"""
import os.path as osp

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmqsd.layers import LSQActQuant


def act_quant_batch():
    """8 samples whose mean |x| grows with the index, so that every split differs."""
    gen = torch.Generator().manual_seed(0)
    return torch.randn(8, 5, 3, generator=gen) * torch.linspace(0.1, 3, 8).view(8, 1, 1)


@HOOKS.register_module()
class RankRecorderHook(Hook):
    """Record this rank's training loss at every iteration and its final weights."""

    def __init__(self):
        self.losses = []
        self.act_quant_step = None

    def before_train(self, runner):
        quant = LSQActQuant(levels=4)
        quant(act_quant_batch().chunk(get_world_size())[get_rank()])
        self.act_quant_step = quant.step.detach().clone()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss']))

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        torch.save(dict(losses=self.losses, state=state, act_quant_step=self.act_quant_step),
                   osp.join(runner.work_dir, f'rank{get_rank()}.pth'))
