"""FGD loss (QSD Eq. 13): hand-computed values, reduction, zero at a match, gradients."""
import math

import pytest
import torch

from mmqsd.models.distillers import FGDLoss, token_similarity_distance


def explicit_distance(p_student, p_teacher):
    """Eq. 13 as written: N x N similarity matrices, unit Frobenius norm, l2 distance."""
    def similarity(p):
        gram = p @ p.transpose(-1, -2)
        return gram / torch.linalg.matrix_norm(gram, keepdim=True)
    return torch.linalg.matrix_norm(similarity(p_teacher) - similarity(p_student))


def records(p, layers=1, time_steps=1, batch=1, heads=1):
    """Recorder-style records: per layer q/k/v of shape (T, B, heads, N, d), all equal to p."""
    value = p.expand(time_steps, batch, heads, *p.shape)
    return [{branch: value for branch in 'qkv'} for _ in range(layers)]


def test_hand_computed_distances():
    # F_S = [[1, 0], [0, 0]], F_A = [[1, 1], [1, 1]] / 2: ||F_A - F_S|| = sqrt(4 * 0.25) = 1
    student, teacher = torch.tensor([[1.], [0.]]), torch.tensor([[1.], [1.]])
    assert token_similarity_distance(student, teacher).item() == pytest.approx(1.0)
    # F_A = [[1, 2], [2, 4]] / 5: (0.8^2 + 2 * 0.4^2 + 0.8^2) = 1.6
    teacher = torch.tensor([[1.], [2.]])
    assert token_similarity_distance(student, teacher).item() == pytest.approx(math.sqrt(1.6))
    # N = 3, d = 2: ||G_S||^2 = 10, ||G_A||^2 = 5, <G_A, G_S> = 4
    student = torch.tensor([[1., 0.], [0., 1.], [1., 1.]])
    teacher = torch.tensor([[1., 0.], [1., 0.], [0., 1.]])
    expected = math.sqrt(2 - 2 * 4 / math.sqrt(50))
    assert token_similarity_distance(student, teacher).item() == pytest.approx(expected)
    assert explicit_distance(student, teacher).item() == pytest.approx(expected)


def test_gram_form_equals_explicit_eq13_with_gradients():
    gen = torch.Generator().manual_seed(0)
    student = torch.rand(2, 3, 7, 5, generator=gen, dtype=torch.float64).requires_grad_()
    teacher = torch.randn(2, 3, 7, 9, generator=gen, dtype=torch.float64)  # wider heads: d differs
    fast = token_similarity_distance(student, teacher)
    slow = explicit_distance(student, teacher)
    assert fast.shape == (2, 3)
    assert torch.allclose(fast, slow, atol=1e-12)
    grad_fast, = torch.autograd.grad(fast.sum(), student)
    grad_slow, = torch.autograd.grad(slow.sum(), student)
    assert torch.allclose(grad_fast, grad_slow, atol=1e-10)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_zero_with_finite_gradient_when_student_matches_teacher(dtype):
    p = torch.rand(16, 8, dtype=dtype)
    student = p.clone().requires_grad_()
    loss = FGDLoss()(records(student, layers=2, heads=3), records(p, layers=2, heads=3))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(student.grad).all() and student.grad.abs().max() == 0


def test_silent_head_has_distance_one_and_finite_gradient():
    student = torch.zeros(6, 4, requires_grad=True)  # a head whose neurons never fire
    dist = token_similarity_distance(student, torch.rand(6, 4))
    assert dist.item() == pytest.approx(1.0)
    dist.backward()
    assert torch.isfinite(student.grad).all()


def test_reduction_mean_vs_sum_and_batch_mean():
    student, teacher = torch.tensor([[1.], [0.]]), torch.tensor([[1.], [1.]])  # distance 1
    layers, heads = 2, 4
    s = records(student, layers, batch=3, heads=heads)
    t = records(teacher, layers, batch=3, heads=heads)
    assert FGDLoss('mean')(s, t).item() == pytest.approx(1.0)
    assert FGDLoss('sum')(s, t).item() == pytest.approx(3 * layers * heads)  # Eq. 13 literally


def test_student_time_steps_are_averaged():
    gen = torch.Generator().manual_seed(1)
    spikes = (torch.rand(4, 2, 2, 9, 3, generator=gen) > 0.5).float()  # T = 4 binary student
    teacher = torch.randn(1, 2, 2, 9, 3, generator=gen)
    s = [{b: spikes for b in 'qkv'}]
    t = [{b: teacher for b in 'qkv'}]
    expected = token_similarity_distance(spikes.mean(0), teacher[0]).mean()
    assert FGDLoss()(s, t).item() == pytest.approx(expected.item())


def test_gradient_reaches_the_student_only():
    gen = torch.Generator().manual_seed(2)
    student = torch.rand(1, 2, 2, 9, 4, generator=gen, requires_grad=True)
    teacher = torch.rand(1, 2, 2, 9, 4, generator=gen)
    loss = FGDLoss()([{b: student for b in 'qkv'}], [{b: teacher for b in 'qkv'}])
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None and not teacher.requires_grad


def layer(tokens=4, branches='qkv'):
    return {b: torch.rand(1, 1, 2, tokens, 3) for b in branches}


@pytest.mark.parametrize('student,teacher,match', [
    ([layer()], [], 'attention layers'),
    ([layer()], [layer(tokens=5)], 'tokens N'),
    ([layer(branches='qk')], [layer()], "no 'v'"),
])
def test_mismatches_explain_the_problem(student, teacher, match):
    with pytest.raises(ValueError, match=match):
        FGDLoss()(student, teacher)


def test_unknown_reduction():
    with pytest.raises(ValueError, match='reduction'):
        FGDLoss('max')
