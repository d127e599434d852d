"""A task-agnostic fine-grained distiller (QSD paper Sec. 4.3, Eq. 13-14).

:class:`FGDDistiller` wraps any mmengine ``BaseModel`` - an mmpretrain
classifier, an mmdet detector, an mmseg segmentor - whose backbone has Q-SDSA
(or Spikformer) attention, together with a frozen ANN teacher of the same
layout, and trains the student with ``L = L_task + lambda * L_FGD`` (Eq. 14;
for classification ``L_task`` is the cross-entropy of Eq. 14).

The authors released no FGD code (QSD Sec. 4.3 describes FGD); our
choices: the teacher runs only its backbone (all attention layers live there),
under ``torch.no_grad()`` on the student's preprocessed inputs; the logged
``loss_fgd`` is already multiplied by ``lambda`` (as mmdet logs weighted losses);
for the reduction over layers and heads see :mod:`.fgd_loss`.
"""
import os.path as osp
import warnings
from typing import Dict, Optional, Union

import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import load_checkpoint
from torch import nn

from ...registry import MODELS
from .fgd_loss import FGDLoss
from .recorders import QKVRecorder

ModelSpec = Union[dict, str, nn.Module]


def build_model(spec: ModelSpec, data_preprocessor: Optional[dict] = None) -> nn.Module:
    """Build a model from a module, a model config dict or a config file path.

    A dict is built under the caller's default scope (e.g. ``ImageClassifier``
    from an mmpretrain config); a file is built as its own training run would
    build it: its ``model`` with its top-level ``data_preprocessor``, under its
    ``default_scope``.  ``data_preprocessor`` is filled into a dict that has none.
    """
    if isinstance(spec, nn.Module):
        return spec
    if isinstance(spec, str):
        file_cfg = Config.fromfile(spec)
        model_cfg = file_cfg.model
        if file_cfg.get('data_preprocessor') is not None:
            model_cfg.setdefault('data_preprocessor', file_cfg.data_preprocessor)
        with DefaultScope.overwrite_default_scope(file_cfg.get('default_scope')):
            return MODELS.build(model_cfg)
    spec = dict(spec)
    if data_preprocessor is not None:
        spec.setdefault('data_preprocessor', data_preprocessor)
    return MODELS.build(spec)


@MODELS.register_module()
class FGDDistiller(BaseModel):
    """Fine-grained distillation of a QSD student from a frozen ANN teacher.

    * ``loss`` mode returns the student's losses plus ``loss_fgd = lambda * L_FGD``;
      ``predict`` and ``tensor`` modes are the student's.
    * The student's data preprocessor is used (the teacher sees the same inputs).
    * The teacher is frozen and always in eval mode.  It is held outside the
      module tree: ``state_dict()``, ``parameters()`` (hence the optimiser),
      ``train()`` and ``init_weights()`` see only the student, while device and
      dtype moves (``to``, ``cuda``) also move the teacher.
    * ``state_dict()`` is the student's own, with the student's keys, so a
      checkpoint loads into the plain student config; loading accepts such
      checkpoints (and ``student.``-prefixed keys).

    Args:
        student: the model to train (config dict, config file path or module).
        teacher: the ANN counterpart (same), e.g. the path of its training config.
        teacher_ckpt: checkpoint of the trained teacher; None keeps its initial
            weights (for tests and benchmarks only; a warning says so).
        teacher_ckpt_strict: load the checkpoint strictly (False allows, e.g., an
            ImageNet ANN classifier checkpoint for a detector's teacher backbone).
        loss_weight: lambda of Eq. 14 (paper: 2).
        reduction: 'mean' or 'sum' over q/k/v, layers and heads (see :class:`FGDLoss`).
        recorder: kwargs of the student's :class:`QKVRecorder` (``module_types``,
            ``name_pattern``); ``teacher_recorder`` those of the teacher's
            (default: the same).
        data_preprocessor: filled into the student config if it has none (the
            Runner passes the config's top-level ``data_preprocessor`` here).
    """

    def __init__(self, student: ModelSpec, teacher: ModelSpec,
                 teacher_ckpt: Optional[str] = None, teacher_ckpt_strict: bool = True,
                 loss_weight: float = 2.0, reduction: str = 'mean',
                 recorder: Optional[dict] = None, teacher_recorder: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.student = build_model(student, data_preprocessor)
        self.data_preprocessor = self.student.data_preprocessor
        teacher = build_model(teacher)
        self._teacher = (teacher, )  # a tuple is not registered as a submodule
        self._load_teacher(teacher_ckpt, teacher_ckpt_strict)
        teacher.requires_grad_(False)
        teacher.eval()
        self.loss_weight = float(loss_weight)
        self.fgd_loss = FGDLoss(reduction)
        recorder = dict(recorder or {})
        self.student_recorder = QKVRecorder(self.student, **recorder)
        self.teacher_recorder = QKVRecorder(teacher, **dict(teacher_recorder or recorder),
                                            detach=True)
        self._check_layer_pairs()

    @property
    def teacher(self) -> nn.Module:
        return self._teacher[0]

    def _load_teacher(self, ckpt: Optional[str], strict: bool) -> None:
        self._init_teacher = ckpt is None
        if ckpt is None:  # the teacher's own init_cfg (e.g. Pretrained) applies in init_weights
            warnings.warn('FGDDistiller: no teacher_ckpt, the teacher keeps its initial '
                          '(init_cfg) weights; distil from a trained ANN teacher (docs/fgd.md)')
            return
        if '://' not in ckpt and not osp.isfile(ckpt):
            raise FileNotFoundError(
                f'teacher checkpoint {ckpt!r} not found: train the ANN teacher first (e.g. '
                'tools/train.py configs/cls/ann_t_in1k.py) and point model.teacher_ckpt at its '
                'checkpoint, e.g. --cfg-options model.teacher_ckpt=PATH')
        load_checkpoint(self.teacher, ckpt, map_location='cpu', strict=strict, logger='current')

    def init_weights(self) -> None:
        """Initialise the student; without ``teacher_ckpt`` also the teacher (its init_cfg)."""
        super().init_weights()
        if self._init_teacher:
            self.teacher.init_weights()

    def _check_layer_pairs(self) -> None:
        student, teacher = (list(zip(r.layer_names, r.num_heads))
                            for r in (self.student_recorder, self.teacher_recorder))
        if [heads for _, heads in student] != [heads for _, heads in teacher]:
            raise ValueError(
                'FGD pairs student and teacher attention layers one to one and head by head '
                f'(Eq. 13), but the student records {student} and the teacher {teacher} '
                '(name, heads); use the ANN counterpart of the student as teacher or select '
                'matching layers with recorder / teacher_recorder name_pattern')

    def _run_teacher(self, inputs: torch.Tensor, data_samples) -> None:
        backbone = getattr(self.teacher, 'backbone', None)
        if backbone is not None:
            backbone(inputs)
        else:
            self.teacher(inputs, data_samples, mode='tensor')

    def loss(self, inputs: torch.Tensor, data_samples=None) -> Dict[str, torch.Tensor]:
        """Student losses plus ``loss_fgd`` (Eq. 14)."""
        with self.student_recorder as student, self.teacher_recorder as teacher:
            with torch.no_grad():
                self._run_teacher(inputs, data_samples)
            losses = self.student.loss(inputs, data_samples)
            fgd = self.fgd_loss(student.records, teacher.records)
        if 'loss_fgd' in losses:
            raise KeyError("the student's losses already contain 'loss_fgd'")
        losses['loss_fgd'] = self.loss_weight * fgd
        return losses

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.student(inputs, data_samples, mode=mode)

    def train(self, mode: bool = True) -> 'FGDDistiller':
        super().train(mode)
        self.teacher.eval()
        return self

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.teacher._apply(fn, *args, **kwargs)
        return self

    def state_dict(self, *args, **kwargs):
        """The student's state dict (its own keys; the teacher is never saved)."""
        return self.student.state_dict(*args, **kwargs)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Checkpoints hold the student's own keys (see state_dict); route them to the student.
        # Renaming in place works for torch's and mmengine's recursive loaders alike.
        for key in [k for k in state_dict
                    if k.startswith(prefix) and not k.startswith(prefix + 'student.')]:
            state_dict[prefix + 'student.' + key[len(prefix):]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
