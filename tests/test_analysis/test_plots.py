"""The analysis figures render to PNG and carry a title, labelled axes with units, a legend;
the energy title and the tool's table print the same total."""
import contextlib
import io
import os.path as osp
import runpy
from collections import OrderedDict

import numpy as np
import pytest

from mmqsd.analysis import format_energy, summarize_energy
from mmqsd.analysis.plots import (REAL_LABEL, distributions_figure, energy_figure,
                                  plot_distributions, plot_energy)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _texts(fig):
    """Every text on the figure: suptitle, fig.text, axes titles / labels / legends."""
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        legend = ax.get_legend()
        if legend is not None:
            texts += [t.get_text() for t in legend.get_texts()]
    return texts


def energy_result(warning=None):
    rows = OrderedDict()
    rows['backbone.stem'] = dict(type='Conv2d', flops=2e5, macs=2e5, sops=0.0, fr=None,
                                 rate=None, spike_input=False, weight_bits=None,
                                 virtual_steps=None)
    rows['backbone.fc'] = dict(type='Linear', flops=1e5, macs=0.0, sops=2e4, fr=0.2, rate=0.05,
                               spike_input=True, weight_bits=4, virtual_steps=4)
    rows['backbone.silent'] = dict(type='Linear', flops=1e5, macs=0.0, sops=0.0, fr=0.0,
                                   rate=0.0, spike_input=True, weight_bits=4, virtual_steps=4)
    result = summarize_energy(rows)
    result.update(layers=rows, num_images=3, warning=warning)
    return result


def test_energy_title_uses_the_table_formatting(tmp_path):
    result = energy_result()
    # 0.00092 mJ: the old title showed 0.001 and the table 0.0009
    assert result['energy_mj'] == pytest.approx(4.6e-4 * 2 + 0.9e-9 * 2e4 / 8, rel=1e-3)
    shown = format_energy(result['energy_mj'])
    assert shown == f'{result["energy_mj"]:.4g} mJ'
    fig = plot_energy(result, str(tmp_path / 'energy.png'))
    assert (tmp_path / 'energy.png').stat().st_size > 10_000
    title = fig._suptitle.get_text()
    assert shown in title and 'mean of 3 images' in title

    print_table = runpy.run_path(osp.join(ROOT, 'tools/analysis/energy.py'),
                                 run_name='tool')['print_table']
    table = io.StringIO()
    parts = OrderedDict(backbone=dict(flops=4e5, sops=2e4, macs=2e5, layers=3, spike_layers=2,
                                      energy_mj=result['energy_mj']))
    with contextlib.redirect_stdout(table):
        print_table(dict(result, parts=parts, not_run=[], params=1,
                              params_32bit_equiv=1))
    assert f'energy {shown}' in table.getvalue()


def test_energy_figure_labels_units_legend_and_real_input_marking():
    fig = energy_figure(energy_result())
    texts = _texts(fig)
    ax_rate, ax_energy = fig.axes
    assert '%' in ax_rate.get_ylabel() and 'µJ' in ax_energy.get_ylabel()
    assert ax_energy.get_xlabel() == 'layer (in execution order)'
    assert any(t.startswith(REAL_LABEL) for t in ax_rate.get_legend().get_texts()
               for t in [t.get_text()])
    assert any('E_AC (0.9 pJ)' in t for t in texts) and any('E_MAC (4.6 pJ)' in t for t in texts)
    # the real-input stem is a hatched span in the rate panel and a hatched bar below;
    # the silent spike layer is an (empty) plain bar, not hatched
    assert [p.get_hatch() for p in ax_rate.patches if p.get_hatch()] == ['///']
    hatched = [p for p in ax_energy.patches if p.get_hatch()]
    assert len(hatched) == 1 and hatched[0].get_x() < 0.5


def test_energy_figure_shows_the_untrained_warning():
    fig = energy_figure(energy_result(warning='untrained model: random weights'))
    assert 'WARNING: untrained model: random weights' in _texts(fig)


def test_distribution_grid_one_row_per_branch(tmp_path):
    rng = np.random.default_rng(0)
    panels = [('membrane potential, without MPRF', rng.normal(size=500), False),
              ('spikes, without MPRF', rng.integers(0, 5, 500) / 4, True),
              ('membrane potential, with MPRF', rng.normal(1, 1, size=500), False),
              ('spikes, with MPRF', rng.integers(0, 5, 500) / 4, True)]
    branches = [('stages.0.attn.q', panels), ('stages.3.attn.q', panels[:2])]
    fig = plot_distributions(branches, str(tmp_path / 'dist.png'), 'Q-SDSA', 'untrained')
    assert (tmp_path / 'dist.png').stat().st_size > 10_000
    grid = np.array(fig.axes).reshape(2, 4)
    for row, (branch, shown) in zip(grid, branches):
        for ax in row[:len(shown)]:
            assert ax.get_title().startswith(branch)  # a branch never spills into a second row
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
        for ax in row[len(shown):]:
            assert not ax.axison
    assert grid[0, 0].get_xlabel().startswith('membrane potential')
    assert grid[0, 1].get_ylabel() == 'probability'
    assert 'WARNING: untrained' in _texts(fig) and fig._suptitle.get_text() == 'Q-SDSA'
    assert distributions_figure(branches[:1], 'one').axes[0].get_legend() is not None
