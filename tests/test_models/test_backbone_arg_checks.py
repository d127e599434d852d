"""Index and arch arguments of every mmqsd backbone are range-checked (issue 14, item 5).

Before, ``QSDTransformer(frozen_stages=-2)`` froze stages 0-2 through Python's
negative slicing, ``out_indices=(3, 0)`` returned the stages in stage order,
and a misspelt arch key (``depth`` for ``depths``) fell back to the default.
Every refusal happens before a layer is built, so these tests are fast.
"""
import pytest

from mmqsd.models.backbones import ANNTransformer, CSDformer, QSDSpikformer, QSDTransformer
from mmqsd.models.backbones.arg_checks import check_frozen_stages, check_out_indices

QSD_TINY = dict(embed_dims=[16, 32, 64, 96], num_heads=4, depths=(1, 1))
CSD_TINY = dict(depth=1, embed_dims=32, num_heads=4)  # 5 tokenizer stages + 1 block
SPIKFORMER_TINY = dict(embed_dims=32, depth=1, num_heads=4)
STAGED = [(QSDTransformer, QSD_TINY, 4), (ANNTransformer, QSD_TINY, 4), (CSDformer, CSD_TINY, 6)]


def test_the_issue_input_frozen_stages_minus_two():
    with pytest.raises(ValueError, match=r'frozen_stages=-2 is out of range: use -1 .* 0\.\.3'):
        QSDTransformer(frozen_stages=-2)


@pytest.mark.parametrize('cls, arch, num_stages', STAGED)
def test_frozen_stages_outside_minus_one_to_last_stage(cls, arch, num_stages):
    for value in (-2, -num_stages, num_stages, 1.0, True, None):
        with pytest.raises(ValueError, match='frozen_stages=.* is out of range'):
            cls(arch, frozen_stages=value)


@pytest.mark.parametrize('cls, arch, num_stages', STAGED)
def test_frozen_stages_in_range_freeze_exactly_those_stages(cls, arch, num_stages):
    for value in (-1, 0, num_stages - 1):
        model = cls(arch, frozen_stages=value).train()
        for index, stage in enumerate(model.stages):
            frozen = index <= value
            assert all(p.requires_grad != frozen for p in stage.parameters())


@pytest.mark.parametrize('cls, arch, num_stages', STAGED)
@pytest.mark.parametrize('out_indices, message', [
    ((), 'one or more stage indices'),
    ((1.5, ), 'one or more stage indices'),
    ((True, ), 'one or more stage indices'),
    ((99, ), 'must be stage indices in 0..'),
    ((-99, ), 'must be stage indices in 0..'),
    ((3, 0), 'must be increasing'),
    ((2, 2), 'without repeats'),
    ((-1, 'last'), 'one or more stage indices'),
])
def test_out_indices_refused(cls, arch, num_stages, out_indices, message):
    with pytest.raises(ValueError, match=message):
        cls(arch, out_indices=out_indices)


def test_out_indices_negative_alias_of_a_repeat_is_refused():
    with pytest.raises(ValueError, match=r'\(-1, 3\) \(stages \(3, 3\)\)'):
        QSDTransformer(QSD_TINY, out_indices=(-1, 3))


def test_out_indices_int_and_negative():
    assert check_out_indices(3, 4) == (3, )
    assert check_out_indices((0, -2, -1), 4) == (0, 2, 3)
    assert QSDTransformer(QSD_TINY, out_indices=-1).out_indices == (3, )
    assert CSDformer(CSD_TINY, out_indices=(0, -1)).out_indices == (0, 5)
    assert check_frozen_stages(-1, 4) == -1


@pytest.mark.parametrize('cls, arch, key', [
    (QSDTransformer, dict(QSD_TINY, depth=(1, 1)), 'depth'),  # for depths
    (ANNTransformer, dict(QSD_TINY, num_head=4), 'num_head'),
    (CSDformer, dict(CSD_TINY, depths=1), 'depths'),  # for depth
    (QSDSpikformer, dict(SPIKFORMER_TINY, mlp=2), 'mlp'),
])
def test_unknown_arch_keys_are_refused(cls, arch, key):
    with pytest.raises(ValueError, match=rf"has unknown keys \['{key}'\] \(its keys are"):
        cls(arch)


@pytest.mark.parametrize('cls, arch', [
    (QSDTransformer, QSD_TINY), (CSDformer, CSD_TINY), (QSDSpikformer, SPIKFORMER_TINY)])
@pytest.mark.parametrize('key, value, message', [
    ('num_heads', 0, 'num_heads=0 must be a positive int'),  # was ZeroDivisionError
    ('num_heads', 2.0, 'num_heads=2.0 must be a positive int'),
    ('mlp_ratio', 0, 'mlp_ratio=0 must be a positive number'),
    ('mlp_ratio', -4, 'mlp_ratio=-4 must be a positive number'),
])
def test_arch_values_are_refused(cls, arch, key, value, message):
    with pytest.raises(ValueError, match=message):
        cls(dict(arch, **{key: value}))


@pytest.mark.parametrize('cls, arch', [(CSDformer, CSD_TINY), (QSDSpikformer, SPIKFORMER_TINY)])
def test_zero_depth_is_refused(cls, arch):
    """QSDSpikformer(depth=0) built a transformer without blocks."""
    with pytest.raises(ValueError, match='depth=0 must be a positive int'):
        cls(dict(arch, depth=0))


@pytest.mark.parametrize('cls', [QSDTransformer, CSDformer, QSDSpikformer])
def test_arch_of_the_wrong_type(cls):
    with pytest.raises(TypeError, match=f'{cls.__name__} arch must be a str or dict, got int'):
        cls(5)


@pytest.mark.parametrize('cls, arch, kwargs, message', [
    (QSDTransformer, QSD_TINY, dict(weight_bits=1), 'weight_bits=1 is not supported'),
    (ANNTransformer, QSD_TINY, dict(weight_bits=16), 'weight_bits=16 is not supported'),
    (QSDSpikformer, SPIKFORMER_TINY, dict(weight_bits=3.5), 'weight_bits=3.5'),
    (QSDTransformer, QSD_TINY, dict(levels=0), 'levels'),
    (QSDSpikformer, SPIKFORMER_TINY, dict(levels=-1), 'levels'),
    (CSDformer, CSD_TINY, dict(levels=0), 'levels'),
    (QSDTransformer, QSD_TINY, dict(time_steps=0), 'time_steps'),
    (QSDSpikformer, SPIKFORMER_TINY, dict(time_steps=0), 'time_steps'),
    (CSDformer, CSD_TINY, dict(num_pools=5), 'num_pools'),
])
def test_other_numeric_arguments_are_refused(cls, arch, kwargs, message):
    """The rest of the kind (bits, levels, time steps, pools) was already checked: keep it."""
    with pytest.raises(ValueError, match=message):
        cls(arch, **kwargs)
