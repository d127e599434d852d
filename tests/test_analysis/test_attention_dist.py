import math

import pytest
import torch

from mmqsd.analysis.attention_dist import (AttentionRecorder, gaussian_level_entropy,
                                           level_entropy)
from mmqsd.deploy import randomize_statistics
from mmqsd.layers import IELIF, QSDSA


def test_level_entropy_known_values():
    assert level_entropy(torch.tensor([0.0, 0.0, 0.0])) == pytest.approx(0.0)
    assert level_entropy(torch.tensor([0.0, 0.25, 0.5, 0.75])) == pytest.approx(math.log(4))


def test_gaussian_level_entropy_eq11():
    neuron = IELIF(levels=4)
    # a very wide normal centred in the range spreads mass into the two saturated ends
    assert gaussian_level_entropy(2.0, 1e3, neuron) == pytest.approx(math.log(2), abs=1e-2)
    # a narrow normal inside one level has zero entropy
    assert gaussian_level_entropy(2.0, 1e-3, neuron) == pytest.approx(0.0, abs=1e-9)
    # the zero-mean potential (no MPRF) keeps most mass at level 0: lower entropy than rectified
    assert gaussian_level_entropy(0.0, 1.0, neuron) < gaussian_level_entropy(2.0, 1.0, neuron)


def test_recorder_captures_pre_and_post_mprf():
    attn = randomize_statistics(QSDSA(8, 2, dict(type='ie_lif', levels=4), 4)).eval()
    with AttentionRecorder(attn) as recorder:
        attn(torch.randn(1, 2, 8, 4, 4))
    summary = recorder.summary()
    assert list(summary) == ['q', 'k', 'v']
    row = summary['q']
    pre, _ = row['without_mprf_values']
    post, _ = row['with_mprf_values']
    assert pre.shape == post.shape == (1 * 2 * 8 * 16, )
    assert set(row['with_mprf']['spike_levels']) <= {0, 0.25, 0.5, 0.75, 1.0}
