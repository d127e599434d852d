"""Integrate-and-fire steps (CSDformer Appendix A, Eq. 15; Algorithm 1 lines 3 and 6-7).

Pure functions over an explicit membrane potential ``v``; the stateful
neurons :class:`~mmqsd.layers.IFNeuron` / :class:`~mmqsd.layers.DelayedIFNeuron`
schedule them over ``T + D`` steps.

* charge: ``m(t) = v(t-1) + I(t)``
* fire:   ``s(t) = H(m(t) - theta)`` with ``H(0) = 1`` (fires at ``m >= theta``)
* reset by subtraction: ``v(t) = m(t) - s(t) * theta``

With ``v(0) = theta/2`` the spike count of an IF neuron that integrates all of
its input before firing is ``clip(floor(sum_t I / theta + 1/2), 0, T)``: the
round-half-up quantiser of :func:`mmqsd.ops.lsq_act_quant` (CSDformer Appendix A, Algorithm 1).
"""
from typing import Tuple

import torch


def if_charge(v: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """Integrate one step of input current."""
    return v + current


def if_fire(v: torch.Tensor, threshold: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Fire where ``v >= threshold`` and reset by subtraction; returns ``(spikes, v)``."""
    spikes = (v >= threshold).to(v.dtype)
    return spikes, v - spikes * threshold
