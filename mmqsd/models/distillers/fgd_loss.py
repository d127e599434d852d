"""Fine-grained distillation loss, QSD paper Eq. 13.

``L_FGD = sum_{p in q,k,v} sum_l sum_h || F(p_A) - F(p_S) ||``,  ``F(p) = p p^T / ||p p^T||``

where ``p`` is the ``N x d`` (tokens x head channels) q, k or v of head ``h``
in attention layer ``l``, of the ANN teacher (A) or the student (S).  ``F`` is
the token-similarity matrix scaled to unit Frobenius norm and ``||.||`` the
Frobenius (l2) norm of the difference, not squared.

No ``N x N`` matrix is formed: ``||p p^T|| = ||p^T p||`` and
``<a a^T, b b^T> = ||a^T b||^2`` (Frobenius), so

``||F_A - F_S||^2 = |F_A|^2 + |F_S|^2 - 2 ||p_A^T p_S||^2 / (||p_A^T p_A|| ||p_S^T p_S||)``

needs only ``d x d`` Gram matrices: O(N d^2) time and O(d^2) memory per head
instead of O(N^2 d) and O(N^2), which matters for detection and segmentation
maps with thousands of tokens.  The Gram products run in (at least) float32
and their sums of squares in float64, where the difference of terms close to 1
cancels; identical inputs give exactly 0.  ``|F|^2`` is 1, or 0 for an all-zero
``p`` (a silent head), whose ``F`` is taken as 0.

Reduction (our choice, the paper leaves it open): ``'mean'`` (default)
averages the distances over p, layers and heads, so ``L_FGD`` lies in
``[0, 2]`` (``[0, sqrt 2]`` for non-negative q/k/v, as with IE-LIF students
and ReLU teachers) whatever the depth and head count, and ``lambda = 2``
(Eq. 14) weighs it against a cross-entropy of order 1 for QSD-T/M/L,
Spikformer and dense tasks alike.  ``'sum'`` is Eq. 13 literally: 3 L H terms
(192 for QSD-T), with which ``lambda = 2`` would make FGD ~100x the CE.  Both
average over the batch (Eq. 13 is per sample).

Time: a recorded ``(T, B, heads, N, d)`` tensor is compared through its mean
over T (the ``sum_t`` read-out of Eq. 14; ``F`` is scale-free, so sum and mean
give the same ``F``).
"""
from typing import Dict, Sequence

import torch
from torch import nn

from .recorders import BRANCHES

REDUCTIONS = ('mean', 'sum')


def _safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(max(x, 0))`` with zero gradient where ``x <= 0`` (x: a squared distance)."""
    root = x.clamp_min(torch.finfo(x.dtype).tiny).sqrt()
    return torch.where(x > 0, root, torch.zeros_like(root))


def token_similarity_distance(p_student: torch.Tensor, p_teacher: torch.Tensor,
                              eps: float = 1e-12) -> torch.Tensor:
    """``||F(p_teacher) - F(p_student)||`` of Eq. 13 for ``(..., N, d)`` inputs.

    Returns one distance per leading index (e.g. ``(B, heads)``).  The head
    widths ``d`` of student and teacher may differ; ``F`` is ``N x N``.
    ``eps`` bounds ``||p p^T||`` from below in the normalisation.
    """
    if p_student.shape[:-1] != p_teacher.shape[:-1]:
        raise ValueError(f'student {tuple(p_student.shape)} and teacher '
                         f'{tuple(p_teacher.shape)} differ in batch, heads or tokens N; Eq. 13 '
                         'compares N x N token similarities head by head: give the teacher the '
                         "student's head count and feed both the same input")
    dtype = torch.promote_types(torch.promote_types(p_student.dtype, p_teacher.dtype),
                                torch.float32)
    s, t = p_student.to(dtype), p_teacher.to(dtype)

    def gram_sq_norm(a, b):  # ||a^T b||_F^2
        return (a.transpose(-1, -2) @ b).double().square().sum((-2, -1))

    ss, tt, ts = gram_sq_norm(s, s), gram_sq_norm(t, t), gram_sq_norm(t, s)
    norm_s_sq, norm_t_sq = ss.clamp_min(eps ** 2), tt.clamp_min(eps ** 2)
    sq = ss / norm_s_sq + tt / norm_t_sq - 2 * ts / (norm_s_sq * norm_t_sq).sqrt()
    return _safe_sqrt(sq).to(dtype)


class FGDLoss(nn.Module):
    """Eq. 13 over recorded layers (see the module docstring for the reduction).

    ``forward(student_records, teacher_records)`` takes the
    :attr:`~mmqsd.models.distillers.QKVRecorder.records` of both models: per
    layer, ``{'q', 'k', 'v'}`` tensors ``(T, B, heads, N, d)``, paired layer by
    layer in order.
    """

    def __init__(self, reduction: str = 'mean', eps: float = 1e-12):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f'unknown FGD reduction {reduction!r}: use one of {REDUCTIONS}')
        self.reduction = reduction
        self.eps = eps

    def forward(self, student_records: Sequence[Dict[str, torch.Tensor]],
                teacher_records: Sequence[Dict[str, torch.Tensor]]) -> torch.Tensor:
        if len(student_records) != len(teacher_records) or not student_records:
            raise ValueError(f'the student has {len(student_records)} recorded attention layers '
                             f'and the teacher {len(teacher_records)}: FGD pairs them one to one '
                             '(Eq. 13); use a teacher of the same depth or select layers with '
                             'the recorders\' name_pattern')
        total, terms = 0., 0
        for index, (student, teacher) in enumerate(zip(student_records, teacher_records)):
            for branch in BRANCHES:
                if branch not in student or branch not in teacher:
                    raise ValueError(f'attention layer {index} recorded no {branch!r}; did both '
                                     'models run their forward inside the recorders?')
                dist = token_similarity_distance(student[branch].mean(0),
                                                 teacher[branch].mean(0), self.eps)
                total = total + dist.sum(-1).mean(0)
                terms += dist.shape[-1]
        return total / terms if self.reduction == 'mean' else total

    def extra_repr(self):
        return f'reduction={self.reduction!r}'
