"""mmqsd's LIF against SpikingJelly's LIFNode (docs/snn_users.md).

SpikingJelly's multi-step LIFNode (``spikingjelly.activation_based.neuron``) updates
``H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau`` (``decay_input=True``) or
``H[t] = V[t-1] - (V[t-1] - V_reset) / tau + X[t]`` (``decay_input=False``), fires
``S[t] = Theta(H[t] - V_th)``, and resets ``V[t] = H[t] (1 - S[t]) + V_reset S[t]`` (hard)
or ``V[t] = H[t] - V_th S[t]`` (soft, ``v_reset=None``), from ``V[-1] = V_reset`` (0 for
soft).  ``sj_lif`` below writes exactly these equations; when SpikingJelly is installed
(requirements/tests.txt) every comparison also runs against SpikingJelly itself, and
``test_reference_equations_are_spikingjellys`` checks that the two agree.
"""
import os.path as osp

import pytest
import torch

from mmqsd.layers import LIF

try:
    from spikingjelly.activation_based import functional as sj_functional
    from spikingjelly.activation_based import neuron as sj_neuron
except ImportError:  # the reference equations still run
    sj_neuron = sj_functional = None

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
needs_spikingjelly = pytest.mark.skipif(sj_neuron is None, reason='spikingjelly not installed')


def sj_lif(x, tau, v_threshold=1.0, v_reset=0.0, decay_input=True):
    """SpikingJelly's documented LIFNode update over the leading time axis of ``x``."""
    reset = 0.0 if v_reset is None else v_reset
    v = torch.full_like(x[0], reset)
    spikes = []
    for x_t in x:
        h = v + (x_t - (v - reset)) / tau if decay_input else v - (v - reset) / tau + x_t
        s = (h >= v_threshold).to(x.dtype)
        v = h - v_threshold * s if v_reset is None else h * (1 - s) + v_reset * s
        spikes.append(s)
    return torch.stack(spikes)


def spikingjelly_node(tau, v_threshold, v_reset, decay_input):
    return sj_neuron.LIFNode(tau=tau, decay_input=decay_input, v_threshold=v_threshold,
                             v_reset=v_reset, step_mode='m')


def lif_from_spikingjelly(tau, v_threshold=1.0, v_reset=0.0, decay_input=True):
    """The mapping of docs/snn_users.md: mmqsd's LIF that fires as LIFNode (hard reset).

    mmqsd's membrane is SpikingJelly's shifted by ``-V_reset`` and, with
    ``decay_input=True``, scaled by ``tau`` (so the input needs no ``1/tau``).
    """
    scale = tau if decay_input else 1.0
    return LIF(tau=1 - 1 / tau, threshold=scale * (v_threshold - v_reset), reset='hard')


def _inputs(seed, steps=8, shape=(4, 257)):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(steps, *shape, generator=gen, dtype=torch.float64) * 1.5 + 0.4


HARD_CASES = [  # (tau, v_threshold, v_reset, decay_input)
    (2.0, 1.0, 0.0, True),   # SpikingJelly's default, SDT-V2's neuron
    (2.0, 0.5, 0.0, True),   # SDT-V2's attention neuron
    (4.0, 1.0, 0.0, True),
    (1.5, 0.7, 0.0, True),
    (3.0, 1.0, -0.5, True),
    (2.0, 1.0, 0.0, False),
    (5.0, 0.3, 0.0, False),
]


@pytest.mark.parametrize('tau, v_threshold, v_reset, decay_input', HARD_CASES)
def test_hard_reset_matches_spikingjelly_spike_for_spike(tau, v_threshold, v_reset, decay_input):
    x = _inputs(seed=int(tau * 10)) * (tau if decay_input else 1.0)  # comparable drive
    spikes = lif_from_spikingjelly(tau, v_threshold, v_reset, decay_input)(x)
    expected = sj_lif(x, tau, v_threshold, v_reset, decay_input)
    assert 0.1 < expected.mean() < 0.9  # both firing and silent neurons are compared
    assert torch.equal(spikes, expected)
    if sj_neuron is not None:
        assert torch.equal(spikes, spikingjelly_node(tau, v_threshold, v_reset, decay_input)(x))


def test_sdtv2_config_uses_the_mapping():
    """configs/cls/sdtv2-55m_authors_*: SpikingJelly LIF(tau=2, V_th=1 and 0.5, hard reset)."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs/cls/sdtv2-55m_authors_8xb196-lamb-300e_in1k.py'))
    lif = lif_from_spikingjelly(2.0, 1.0)
    assert cfg.model.backbone.neuron_cfg == dict(tau=lif.tau, threshold=lif.threshold,
                                                 reset='hard')
    assert cfg.model.backbone.attn_neuron_cfg.threshold == lif_from_spikingjelly(2.0, 0.5).threshold


def test_soft_reset_follows_qsd_eq3_not_spikingjelly():
    """QSD Eq. 1-3: h[t] = tau v[t] - theta s[t] subtracts the threshold after the leak;
    SpikingJelly's soft reset subtracts it before the next step's leak."""
    x = torch.tensor([[1.5], [0.8]], dtype=torch.float64)
    mmqsd = LIF(tau=0.5, threshold=1.0, reset='soft')(x)
    # by hand: v0 = 1.5 fires, h0 = 0.75 - 1 = -0.25; v1 = 0.55 stays silent
    assert mmqsd.flatten().tolist() == [1.0, 0.0]
    # SpikingJelly (tau=2, decay_input=False): V0 = 1.5 - 1 = 0.5, H1 = 0.25 + 0.8 fires
    expected_sj = [1.0, 1.0]
    assert sj_lif(x, 2.0, 1.0, None, decay_input=False).flatten().tolist() == expected_sj
    if sj_neuron is not None:
        node = spikingjelly_node(2.0, 1.0, None, decay_input=False)
        assert node(x).flatten().tolist() == expected_sj


@pytest.mark.parametrize('tau, threshold', [(0.5, 1.0), (0.25, 0.6), (0.9, 2.0)])
def test_soft_reset_is_eq3_on_random_inputs(tau, threshold):
    x = _inputs(seed=3)
    h = torch.zeros_like(x[0])
    expected = []
    for x_t in x:  # Eq. 1-3, threshold also subtracted on reset (= Eq. 3 for theta = 1)
        v = h + x_t
        s = (v >= threshold).to(x.dtype)
        h = tau * v - threshold * s
        expected.append(s)
    assert torch.equal(LIF(tau=tau, threshold=threshold)(x), torch.stack(expected))


def test_mmqsd_neurons_are_stateless_per_forward():
    """No functional.reset_net: every forward starts from a zero membrane."""
    lif = LIF(tau=0.5, threshold=1.0)
    x = _inputs(seed=5)
    first = lif(x)
    assert torch.equal(lif(x), first)
    assert not any(isinstance(v, torch.Tensor) for v in vars(lif).values())  # no state kept


@needs_spikingjelly
def test_spikingjelly_keeps_state_until_reset_net():
    """The contrast: a SpikingJelly node carries V across calls unless reset."""
    x = _inputs(seed=6)
    node = spikingjelly_node(2.0, 1.0, 0.0, True)
    first = node(x)
    assert not torch.equal(node(x), first)
    sj_functional.reset_net(node)
    assert torch.equal(node(x), first)


@needs_spikingjelly
@pytest.mark.parametrize('v_reset, decay_input', [(0.0, True), (None, True), (0.0, False),
                                                  (None, False), (-0.5, True)])
def test_reference_equations_are_spikingjellys(v_reset, decay_input):
    x = _inputs(seed=7)
    node = spikingjelly_node(2.5, 0.8, v_reset, decay_input)
    assert torch.equal(node(x), sj_lif(x, 2.5, 0.8, v_reset, decay_input))

