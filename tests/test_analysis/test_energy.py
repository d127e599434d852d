"""Op counter and energy (Eq. 28-30) on hand-computable modules and on QSD-T / QSD-L."""
import pytest
import torch

from mmqsd.analysis import bit_discount, count_energy, summarize_energy
from mmqsd.layers import IELIF, QSDSA, QuantConv2d, QuantLinear
from mmqsd.models.backbones import QSDTransformer


class ConvThenFC(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = QuantConv2d(1, 2, 3, padding=1, weight_bits=None, bias=False)
        self.neuron = IELIF(levels=4)
        self.fc = QuantLinear(2 * 4 * 4, 3, weight_bits=4)

    def forward(self, x):  # x: (T=1, B, 1, 4, 4)
        y = self.neuron(self.stem(x))
        return self.fc(y.map(lambda s: s.flatten(-3)) if hasattr(y, 'map') else y.flatten(-3))


def identity_stem_model() -> ConvThenFC:
    model = ConvThenFC()
    with torch.no_grad():
        model.stem.weight.zero_()
        model.stem.weight[:, :, 1, 1] = 1.0  # identity on both channels
    return model


def test_hand_computed_flops_sops_energy():
    model = identity_stem_model()
    x = torch.full((1, 1, 1, 4, 4), 2.2)  # -> 2 spikes per neuron and step
    result = count_energy(model, x)
    stem, fc = result['layers']['stem'], result['layers']['fc']
    assert stem['flops'] == 2 * 16 * 9 and not stem['spike_input']
    assert stem['macs'] == stem['flops'] and stem['sops'] == 0
    assert fc['flops'] == 32 * 3 and fc['spike_input'] and fc['fr'] == pytest.approx(2.0)
    assert fc['sops'] == pytest.approx(2.0 * 96)  # Eq. 28: fr * T * FLOPs, T = 1
    expected_pj = 4.6 * 288 + 0.9 * 192 * bit_discount(4)
    assert result['energy_mj'] == pytest.approx(expected_pj * 1e-9)
    assert result['energy_mj_eq30'] == pytest.approx(expected_pj * 1e-9)
    assert bit_discount(2) == 1 / 32 and bit_discount(3) == 1 / 16 and bit_discount(8) == 0.25
    no_discount = summarize_energy(result['layers'], use_bit_discount=False)
    assert no_discount['energy_mj'] == pytest.approx((4.6 * 288 + 0.9 * 192) * 1e-9)


def assert_rate_identity(result) -> int:
    """Per layer: rate x dense ops = SOPs, exactly; MAC layers have no rate.  Returns the
    number of spike-input layers."""
    spike_rows = 0
    for name, row in result['layers'].items():
        if row['spike_input']:
            assert row['fr'] * (row['flops'] - row['macs']) == row['sops'], name
            assert row['rate'] == row['fr'] / row['virtual_steps']
            spike_rows += 1
        else:
            assert row['fr'] is None and row['sops'] == 0 and row['macs'] == row['flops'], name
    return spike_rows


def test_batches_are_averaged_over_all_images():
    """Batch 1 fires 2 spikes per neuron, batch 2 none: every rate is the mean over both
    (the energy tool used to take per-layer rates from the first batch only)."""
    model = identity_stem_model()
    busy, silent = torch.full((3, 1, 4, 4), 2.2), torch.zeros(1, 1, 4, 4)  # (B, C, H, W)
    add_time_axis = lambda m, x: m(x[None])  # noqa: E731  the model takes (T=1, B, C, H, W)
    result = count_energy(model, [busy, silent], add_time_axis)
    assert result['num_images'] == 4
    fc = result['layers']['fc']
    assert fc['fr'] == pytest.approx(2.0 * 3 / 4)  # not 2.0 (the first batch's)
    assert fc['sops'] == pytest.approx(96 * 1.5) and fc['flops'] == 96
    assert result['firing_rates']['neuron']['spikes_per_step'] == pytest.approx(1.5)
    assert assert_rate_identity(result) == 1
    # the same images in one batch give the same numbers
    together = count_energy(model, torch.cat([busy, silent]), add_time_axis)
    for key in ('energy_mj', 'total_sops', 'total_flops'):
        assert together[key] == pytest.approx(result[key])
    with pytest.raises(ValueError, match='no input batch'):
        count_energy(model, [])


def test_attention_products_are_counted_with_gating_rates():
    attn = QSDSA(8, 2, dict(type='ie_lif', levels=4), weight_bits=4)
    x = torch.randn(1, 2, 8, 3, 3)  # (T, B, C, H, W)
    result = count_energy(attn, x, batch_size=2)
    rows = result['layers']
    macs = 2 * 9 * 8 * 4 / 2  # T*B * N * C * d, per image (B = 2)
    for key, branch in (('k_t@v', 'k'), ('q@kv', 'q')):
        row = rows[key]
        assert row['flops'] == macs
        rate = result['firing_rates'][f'{branch}.neuron']['spikes_per_step']
        assert row['sops'] == pytest.approx(rate * macs)


@pytest.mark.parametrize('arch,expected_g', [('T', 6.47), ('L', 24.8)])
def test_dense_mac_totals_match_reference(arch, expected_g):
    """shared/reference/qsd-sdtv2.md §4.7: 6.47 G (T) and 24.8 G (L) MACs at 224^2.

    Every layer's MACs scale with the number of pixels (attention is linear in
    tokens), so 112^2 gives exactly a quarter.
    """
    model = QSDTransformer(arch).eval()
    result = count_energy(model, torch.randn(1, 3, 112, 112))
    head_macs = {'T': 360 * 1000, 'L': 640 * 1000}[arch]  # the reference total includes the head
    total_g = (4 * result['total_flops'] + head_macs) / 1e9
    assert total_g == pytest.approx(expected_g, abs=0.05)


@pytest.mark.parametrize('arch,expected_g', [('8-512', 8.26), ('8-768', 18.51)])
def test_csdformer_dense_macs_match_paper(arch, expected_g):
    """CSDformer Table 3: 8.26 G / 18.51 G MACs at 224^2 (calflops: attention products excluded).

    A model without spiking neurons (the quantised ANN) is counted densely; the
    conv/linear MACs scale with the pixels, so 112^2 gives a quarter.
    """
    from mmqsd.models.backbones.csdformer import CSDformer
    result = count_energy(CSDformer(arch).eval(), torch.randn(1, 3, 112, 112))
    rows = result['layers'].values()
    synapses = sum(r['flops'] for r in rows if r['type'] != 'MatMul')
    assert 4 * synapses / 1e9 == pytest.approx(expected_g, abs=0.02)
    products = [r for r in rows if r['type'] == 'MatMul']
    assert len(products) == 2 * int(arch.split('-')[0])  # q k^T and A v per block
    assert all(not r['spike_input'] and r['macs'] == r['flops'] for r in products)
