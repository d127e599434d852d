"""FLOPs, synaptic operations (SOPs) and energy (QSD Appendix E, Eq. 28-30, Table 7).

The counter runs the model's spike-driven form on one or more batches, with
hooks on every synaptic layer (conv, transposed conv, linear) and on every
spike-driven attention, and reports per-image averages over all images:

* ``flops``: dense multiply-accumulates of the layer (all time steps, per image);
* a layer whose input is a spike train does accumulates only: ``SOPs = fr * T * FLOPs``
  (Eq. 28), ``fr`` being the mean spikes per input neuron and time step (a
  multi-bit IE-LIF value k/b counts k spikes);
* a layer whose input is real-valued (the stem conv on pixels; depthwise /
  pointwise convs inside SepConv and RepConv that read BN outputs; every layer of
  a float ANN part such as mmdet's RPN / RoI heads) does MACs.

Whatever the forward runs is counted: a classifier's head, a segmentor's decode
head, a detector's RPN and RoI heads (on the proposals of that image).  Element-wise
ops, norms, pooling, resizing, RoIAlign and NMS have no MACs and are not counted;
conv / linear layers the forward does not run (e.g. an auxiliary head) are listed
in ``not_run``.

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
from typing import Callable, Iterable, Optional, Union

import torch
from torch import nn

from ..deploy import DeployedSynapse, SpikeTrain, spiking_neurons, to_spike_driven
from ..layers import SpikeProductAttention, TailoredAttention
from .firing_rate import FiringRateMonitor

PAPER_BIT_DISCOUNT = {2: 1 / 32, 3: 1 / 16, 4: 1 / 8}
CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
TRANSPOSED_CONV_TYPES = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
SYNAPTIC_TYPES = CONV_TYPES + TRANSPOSED_CONV_TYPES + (nn.Linear, DeployedSynapse)


def bit_discount(bits: Optional[int]) -> float:
    """Energy share of an op with ``bits``-bit weights relative to a 32-bit op."""
    if bits is None:
        return 1.0
    return PAPER_BIT_DISCOUNT.get(bits, bits / 32)


def format_energy(mj: float) -> str:
    """An energy in mJ as every analysis output shows it (table, plot title): 4 significant
    digits, e.g. ``0.0009123 mJ``, ``8.712 mJ``."""
    return f'{mj:.4g} mJ'


def format_ops(count: float) -> str:
    """An operation count with an SI prefix and 4 significant digits, e.g. ``6.47 G``."""
    for prefix, scale in (('T', 1e12), ('G', 1e9), ('M', 1e6), ('k', 1e3)):
        if abs(count) >= scale:
            return f'{count / scale:.4g} {prefix}'
    return f'{count:.4g}'


def _join(prefix: str, name: str) -> str:
    return f'{prefix}.{name}' if prefix else name


def dense_macs(module: nn.Module, x, output: torch.Tensor) -> int:
    """Dense multiply-accumulates of one call of a conv / transposed conv / linear.

    A conv or linear output element costs its fan-in, ``in_features`` or
    ``(C_in / groups) * prod(kernel)``; a transposed conv spreads every *input* element
    over ``(C_out / groups) * prod(kernel)`` outputs.  ``x`` may be a :class:`SpikeTrain`
    (its dense shape is counted, not the virtual steps).
    """
    if isinstance(module, TRANSPOSED_CONV_TYPES):
        in_numel = x.spikes[0].numel() if isinstance(x, SpikeTrain) else x.numel()
        return in_numel * module.weight[0].numel()  # weight: (C_in, C_out / groups, *k)
    return output.numel() * module.weight[0].numel()  # in_features, or (C_in / groups) * prod(k)


class OpCounter:
    """Hooks that accumulate per-layer ops over any number of forwards (module docstring).

    Rows hold totals over all forwards; :meth:`layer_rows` divides them by
    ``num_images`` (set by the caller, e.g. :func:`count_energy`) and derives each
    spike-input layer's ``fr`` from the totals, so every image weighs the same.
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self.num_images = 0
        self.totals = OrderedDict()
        self.rates = FiringRateMonitor(model)
        self._handles = []

    def _add(self, name, kind, flops, spikes_per_step, steps, bits):
        row = self.totals.setdefault(name, dict(type=kind, flops=0.0, sops=0.0, macs=0.0,
                                                weight_bits=bits, virtual_steps=None))
        row['flops'] += flops
        if spikes_per_step is None:
            row['macs'] += flops
        else:
            row['sops'] += spikes_per_step * flops
            row['virtual_steps'] = steps

    def _synapse_hook(self, name):
        def hook(module, inputs, output):
            x = inputs[0]
            rate = steps = None
            if isinstance(x, SpikeTrain):
                rate, steps = float(x.spikes.sum(0, dtype=torch.float32).mean()), x.num_steps
            bits = getattr(module, 'weight_bits', None)
            self._add(name, type(module).__name__, dense_macs(module, x, output), rate, steps,
                      bits)
        return hook

    def _attention_hook(self, name, attention):
        def hook(module, inputs, output):
            rates = self.rates.last_spikes_per_step
            for product, macs, gate in attention_products(attention, inputs[0], output):
                gate = _join(name, gate) if gate else None
                rate = rates.get(gate) if gate else None
                steps = self.rates.layers[gate].levels if rate is not None else None
                self._add(_join(name, product), 'MatMul', macs, rate, steps, None)
        return hook

    def layer_rows(self) -> 'OrderedDict[str, dict]':
        """Per-image rows: ``flops``, ``macs``, ``sops``, ``fr``, ``rate``, ``spike_input``...

        ``fr`` (Eq. 28, spikes per input neuron and time step) is the op-weighted mean over
        all forwards, ``total SOPs / total dense ops on spikes``; ``sops`` is then
        ``fr * flops`` exactly.  ``rate = fr / virtual_steps`` is the fraction of
        (neuron, virtual step) pairs that spike, in [0, 1].
        """
        if self.num_images <= 0:
            raise ValueError('OpCounter.num_images must be set to the images of all forwards')
        rows = OrderedDict()
        for name, total in self.totals.items():
            row = dict(total, flops=total['flops'] / self.num_images,
                       macs=total['macs'] / self.num_images)
            spike_flops = row['flops'] - row['macs']
            row['spike_input'] = spike_flops > 0
            row['fr'] = total['sops'] / (total['flops'] - total['macs']) \
                if row['spike_input'] else None
            row['sops'] = row['fr'] * spike_flops if row['spike_input'] else 0.0
            row['rate'] = row['fr'] / row['virtual_steps'] if row['spike_input'] else None
            rows[name] = row
        return rows

    def not_run(self) -> list:
        """Names of the model's synaptic layers that no forward ran (not counted)."""
        return [n for n, m in self.model.named_modules()
                if isinstance(m, SYNAPTIC_TYPES) and n not in self.totals]

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


def summarize_parts(rows: 'OrderedDict[str, dict]') -> 'OrderedDict[str, dict]':
    """Totals per top-level part of the model (``backbone``, ``neck``, ``rpn_head``...).

    Each part: ``flops``, ``sops``, ``macs``, ``energy_mj`` (rows must carry energy,
    see :func:`summarize_energy`), ``layers`` and ``spike_layers`` (layers fed by spikes;
    0 for a real-valued ANN part such as mmdet's RPN / RoI heads).
    """
    parts = OrderedDict()
    for name, row in rows.items():
        part = parts.setdefault(name.split('.')[0], dict(flops=0.0, sops=0.0, macs=0.0,
                                                         energy_mj=0.0, layers=0,
                                                         spike_layers=0))
        for key in ('flops', 'sops', 'macs', 'energy_mj'):
            part[key] += row[key]
        part['layers'] += 1
        part['spike_layers'] += int(row['spike_input'])
    return parts


Batches = Union[torch.Tensor, Iterable]


@torch.no_grad()
def count_energy(model: nn.Module, inputs: Batches, forward: Optional[Callable] = None,
                 e_mac_pj: float = 4.6, e_ac_pj: float = 0.9, use_bit_discount: bool = True,
                 batch_size: Optional[int] = None) -> dict:
    """Per-layer FLOPs / SOPs / energy of ``model``, per image, over all ``inputs``.

    Args:
        model: any module; one with mmqsd spiking neurons is counted in its spike-driven
            form (:func:`~mmqsd.deploy.to_spike_driven`), others densely.
        inputs: one batch (a tensor, e.g. ``(B, C, H, W)``) or an iterable of batches;
            every batch goes through ``forward(model, batch)`` once.
        forward: how to run a batch (default ``model(batch)``).
        batch_size: images per batch; default ``len(batch)`` (pass it for multi-step
            ``(T, B, ...)`` tensors).

    Returns:
        ``dict(layers=OrderedDict(name -> row), parts=..., firing_rates=..., num_images,
        not_run, **totals)``: rows and totals are per image, averaged over all images;
        ``firing_rates`` (spiking neurons' outputs) also cover every image.

    Raises:
        ValueError: if ``inputs`` holds no batch.
    """
    forward = forward or (lambda m, x: m(x))
    batches = [inputs] if isinstance(inputs, torch.Tensor) else inputs
    # models without spiking neurons (an ANN, a CSDformer QANN) are counted densely
    spike_model = to_spike_driven(model) if spiking_neurons(model) else copy.deepcopy(model).eval()
    counter = OpCounter(spike_model)
    with counter:
        for batch in batches:
            forward(spike_model, batch)
            counter.num_images += batch_size or len(batch)
    if not counter.num_images:
        raise ValueError('count_energy got no input batch')
    rows = counter.layer_rows()
    result = summarize_energy(rows, e_mac_pj, e_ac_pj, use_bit_discount)
    result.update(layers=rows, parts=summarize_parts(rows), num_images=counter.num_images,
                  firing_rates=counter.rates.layer_stats(), not_run=counter.not_run())
    return result
