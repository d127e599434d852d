"""FLOPs, synaptic operations (SOPs) and energy (QSD Appendix E, Eq. 28-30, Table 7).

The counter runs the model's spike-driven form once, with hooks on every
synaptic layer (conv / linear) and on every spike-driven attention:

* ``flops``: dense multiply-accumulates of the layer (all time steps, per image);
* a layer whose input is a spike train does accumulates only: ``SOPs = fr * T * FLOPs``
  (Eq. 28), ``fr`` being the mean spikes per input neuron and time step (a
  multi-bit IE-LIF value k/b counts k spikes);
* a layer whose input is real-valued (the stem conv on pixels; depthwise /
  pointwise convs inside SepConv and RepConv that read BN outputs) does MACs.

Attention products (Table 7): ``k^T v`` and ``q (k^T v)`` each cost
``N * C * d`` MACs per image and step; their SOPs use the rate of the gating
spike operand (k, then q).

Energy (Eq. 29-30): ``E = E_MAC * MACs + E_AC * SOPs`` with E_MAC = 4.6 pJ,
E_AC = 0.9 pJ (45 nm, configurable).  With ``bit_discount`` an operation with
b-bit weights costs ``{2: 1/32, 3: 1/16, 4: 1/8}`` (else b/32) of a 32-bit one
(Appendix E.2).  ``energy_mj_eq30`` follows the paper's Eq. 30 literally: only
the first layer is a MAC, every other layer is charged E_AC per operation.

Convention for RepConv: counted in training form (1x1 + depthwise 3x3 + 1x1),
as the authors' released model counts it (QSD-T ~6.47 G, QSD-L ~24.8 G dense
MACs at 224^2).
"""
import copy
from collections import OrderedDict
from typing import Callable, Optional

import torch
from torch import nn

from ..deploy import DeployedSynapse, SpikeTrain, spiking_neurons, to_spike_driven
from ..layers import SpikeProductAttention, TailoredAttention
from .firing_rate import FiringRateMonitor

PAPER_BIT_DISCOUNT = {2: 1 / 32, 3: 1 / 16, 4: 1 / 8}
SYNAPTIC_TYPES = (nn.Conv1d, nn.Conv2d, nn.Linear, DeployedSynapse)


def bit_discount(bits: Optional[int]) -> float:
    """Energy share of an op with ``bits``-bit weights relative to a 32-bit op."""
    if bits is None:
        return 1.0
    return PAPER_BIT_DISCOUNT.get(bits, bits / 32)


def _join(prefix: str, name: str) -> str:
    return f'{prefix}.{name}' if prefix else name


def _fan_in(module: nn.Module) -> int:
    return module.weight[0].numel()  # in_features, or (C_in / groups) * prod(kernel)


class OpCounter:
    """Hooks that record per-layer ops of one forward (see module docstring)."""

    def __init__(self, model: nn.Module, batch_size: int):
        self.model = model
        self.batch_size = batch_size
        self.rows = OrderedDict()
        self.rates = FiringRateMonitor(model)
        self._handles = []

    def _add(self, name, kind, flops, spike_rate, bits):
        row = self.rows.setdefault(name, dict(type=kind, flops=0.0, sops=0.0, macs=0.0,
                                              spike_input=spike_rate is not None,
                                              fr=spike_rate, weight_bits=bits))
        row['flops'] += flops
        if spike_rate is None:
            row['macs'] += flops
        else:
            row['sops'] += spike_rate * flops

    def _synapse_hook(self, name):
        def hook(module, inputs, output):
            x = inputs[0]
            spike_rate = None
            if isinstance(x, SpikeTrain):
                spike_rate = float(x.spikes.sum(0, dtype=torch.float32).mean())
            flops = output.numel() * _fan_in(module) / self.batch_size
            bits = getattr(module, 'weight_bits', None)
            self._add(name, type(module).__name__, flops, spike_rate, bits)
        return hook

    def _attention_hook(self, name, attention):
        def hook(module, inputs, output):
            rates = self.rates.last_spikes_per_step
            for product, macs, gate in attention_products(attention, inputs[0], output):
                rate = rates.get(_join(name, gate)) if gate else None
                self._add(_join(name, product), 'MatMul', macs / self.batch_size, rate, None)
        return hook

    def __enter__(self):
        self.rates.attach()
        for name, module in self.model.named_modules():
            if isinstance(module, SYNAPTIC_TYPES):
                self._handles.append(module.register_forward_hook(self._synapse_hook(name)))
            elif isinstance(module, SpikeProductAttention):  # hook its products: q, k, v -> out
                self._handles.append(module.products.register_forward_hook(
                    self._attention_hook(name, module)))
            elif isinstance(module, TailoredAttention):
                self._handles.append(module.register_forward_hook(
                    self._attention_hook(name, module)))
        return self

    def __exit__(self, *exc):
        self.rates.detach()
        for handle in self._handles:
            handle.remove()


def attention_products(module: nn.Module, x: torch.Tensor, output: torch.Tensor):
    """``(name, MACs over the whole batch, gating neuron or None)`` of an attention's products.

    A :class:`~mmqsd.layers.SpikeProductAttention` (Q-SDSA, Spikformer's SSA) describes its
    own (:meth:`~mmqsd.layers.SpikeProductAttention.product_macs` of the products' output
    ``(T, B, C, H, W)``): ``k^T v`` and ``q (k^T v)``, ``N * C * d`` each, gated by the k
    and q spikes.  CSDformer's tailored attention on ``x`` ``(B, C, N)``: ``q k^T`` and
    ``A v``, ``N^2 * C`` each (real-valued in the quantised ANN).
    """
    if isinstance(module, SpikeProductAttention):
        return module.product_macs(output)
    channels, tokens = x.shape[-2], x.shape[-1]
    macs = x[..., 0, 0].numel() * tokens * tokens * channels
    return [('q@k_t', macs, None), ('a@v', macs, None)]


ATTENTION_TYPES = (SpikeProductAttention, TailoredAttention)


def summarize_energy(rows: 'OrderedDict[str, dict]', e_mac_pj: float = 4.6, e_ac_pj: float = 0.9,
                     use_bit_discount: bool = True) -> dict:
    """Add per-row energy and return the totals (energies in mJ)."""
    first = next(iter(rows), None)
    total = dict(total_flops=0.0, total_sops=0.0, total_macs=0.0, energy_mj=0.0,
                 energy_mj_eq30=0.0)
    for name, row in rows.items():
        discount = bit_discount(row['weight_bits']) if use_bit_discount else 1.0
        row['energy_mj'] = (row['macs'] * e_mac_pj + row['sops'] * e_ac_pj) * discount * 1e-9
        eq30_pj = e_mac_pj * row['macs'] if name == first else e_ac_pj * (row['sops'] + row['macs'])
        total['energy_mj_eq30'] += eq30_pj * discount * 1e-9
        total['total_flops'] += row['flops']
        total['total_sops'] += row['sops']
        total['total_macs'] += row['macs']
        total['energy_mj'] += row['energy_mj']
    total.update(e_mac_pj=e_mac_pj, e_ac_pj=e_ac_pj, bit_discount=use_bit_discount)
    return total


@torch.no_grad()
def count_energy(model: nn.Module, inputs: torch.Tensor, forward: Optional[Callable] = None,
                 e_mac_pj: float = 4.6, e_ac_pj: float = 0.9, use_bit_discount: bool = True,
                 batch_size: Optional[int] = None) -> dict:
    """Per-layer FLOPs / SOPs / energy of ``model`` on ``inputs`` (per image).

    Returns ``dict(layers=OrderedDict(name -> row), firing_rates=..., **totals)``.
    """
    forward = forward or (lambda m, x: m(x))
    # models without spiking neurons (an ANN, a CSDformer QANN) are counted densely
    spike_model = to_spike_driven(model) if spiking_neurons(model) else copy.deepcopy(model).eval()
    counter = OpCounter(spike_model, batch_size or inputs.shape[0])
    with counter:
        forward(spike_model, inputs)
    result = summarize_energy(counter.rows, e_mac_pj, e_ac_pj, use_bit_discount)
    result['layers'] = counter.rows
    result['firing_rates'] = counter.rates.layer_stats()
    return result
