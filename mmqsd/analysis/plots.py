"""Matplotlib figures of the analysis tools (PNG, headless Agg backend).

Every figure has a title, labelled axes with units and a legend.  The ``*_figure``
functions return the :class:`~matplotlib.figure.Figure` (for tests and notebooks);
the ``plot_*`` functions also write it to a PNG and close it.
"""
import math
from typing import Optional, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from .energy import format_energy, format_ops  # noqa: E402

SPIKE_COLOR = 'tab:orange'
RATE_COLOR = 'tab:blue'
REAL_STYLE = dict(facecolor='0.85', edgecolor='0.45', hatch='///', linewidth=0.5)
REAL_LABEL = 'real-valued input (MAC)'
WARNING_COLOR = 'tab:red'


def save_figure(fig, path: str, dpi: int = 120):
    """Write ``fig`` to ``path`` (PNG), close it and return it."""
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return fig


def _title(fig, text: str, warning: Optional[str]) -> None:
    fig.suptitle(text, fontsize=11)
    if warning:
        fig.text(0.5, 0.935, f'WARNING: {warning}', ha='center', va='top', fontsize=8,
                 color=WARNING_COLOR, wrap=True)


def energy_figure(result: dict):
    """Per-layer input firing rate (%) and energy (µJ) of :func:`count_energy`'s ``result``.

    Layers fed by real values (MACs) are hatched grey in both panels, so they cannot be
    mistaken for silent spike-input layers.  The title's total uses :func:`format_energy`,
    as the tool's table does; ``result['warning']`` (e.g. untrained weights) is shown in red.
    """
    names = list(result['layers'])
    rows = [result['layers'][n] for n in names]
    x = np.arange(len(names))
    spike = np.array([r['spike_input'] for r in rows], dtype=bool)
    width = min(30.0, max(9.0, 0.16 * len(names)))  # inches
    fig, (ax_rate, ax_energy) = plt.subplots(2, 1, figsize=(width, 8), sharex=True)
    rates = np.array([100 * r['rate'] if r['spike_input'] else 0.0 for r in rows])
    for i in x[~spike]:
        ax_rate.axvspan(i - 0.4, i + 0.4, **REAL_STYLE)
    ax_rate.bar(x[spike], rates[spike], color=RATE_COLOR)
    ax_rate.set_ylim(0, max(1.0, float(rates.max(initial=0)) * 1.15))
    ax_rate.set_ylabel('input firing rate (%)\nspikes / (neuron x virtual step)')
    ax_rate.set_title('firing rate of each layer\'s input spikes', fontsize=9, pad=14)
    outside = dict(fontsize=7, loc='upper left', bbox_to_anchor=(1.005, 1.0))
    ax_rate.legend(handles=[Patch(color=RATE_COLOR, label='spike input: firing rate'),
                            Patch(**REAL_STYLE, label=f'{REAL_LABEL}: no firing rate')],
                   **outside)
    energy_uj = np.array([r['energy_mj'] * 1e3 for r in rows])
    ax_energy.bar(x[spike], energy_uj[spike], color=SPIKE_COLOR)
    ax_energy.bar(x[~spike], energy_uj[~spike], **REAL_STYLE)
    if (energy_uj > 0).any():  # layers differ by orders of magnitude
        ax_energy.set_yscale('log')
    ax_energy.set_ylabel('energy per image (µJ, log scale)')
    ax_energy.set_xlabel('layer (in execution order)')
    ax_energy.set_title('energy of each layer', fontsize=9)
    e_ac, e_mac = result.get('e_ac_pj', 0.9), result.get('e_mac_pj', 4.6)
    ax_energy.legend(handles=[
        Patch(color=SPIKE_COLOR, label=f'spike input: SOPs x E_AC ({e_ac:g} pJ)'),
        Patch(**REAL_STYLE, label=f'{REAL_LABEL} x E_MAC ({e_mac:g} pJ)')], **outside)
    _mark_parts(ax_rate, ax_energy, names)
    step = max(1, math.ceil(len(x) / (width * 72 / 8)))  # 6-point labels, >= 8 points apart
    ax_energy.set_xticks(x[::step])
    ax_energy.set_xticklabels([names[i] for i in x[::step]], rotation=90, fontsize=6)
    images = result.get('num_images', 1)
    _title(fig, f'Energy per image {format_energy(result["energy_mj"])} (QSD Eq. 29-30), '
           f'{format_ops(result["total_sops"])} SOPs + {format_ops(result["total_macs"])} MACs, '
           f'mean of {images} image{"s" if images != 1 else ""}', result.get('warning'))
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return fig


def _mark_parts(ax_top, ax_bottom, names) -> None:
    """Dashed lines between the model's parts (backbone, neck, heads), named on top."""
    parts = [n.split('.')[0] for n in names]
    starts = [i for i, part in enumerate(parts) if i == 0 or part != parts[i - 1]]
    for begin, end in zip(starts, starts[1:] + [len(parts)]):
        if begin:
            for ax in (ax_top, ax_bottom):
                ax.axvline(begin - 0.5, color='0.3', linestyle='--', linewidth=0.8)
        ax_top.text((begin + end - 1) / 2, 1.01, parts[begin], ha='center', va='bottom',
                    transform=ax_top.get_xaxis_transform(), fontsize=7, color='0.3')


def plot_energy(result: dict, path: str):
    """Write :func:`energy_figure` to the PNG ``path``; return the (closed) figure."""
    return save_figure(energy_figure(result), path)


Panel = Tuple[str, np.ndarray, bool]  # (title, values, discrete spike levels?)
MEMBRANE_AXES = ('membrane potential (BN output, dimensionless)', 'probability density')
SPIKE_AXES = ('spike value k / norm (dimensionless)', 'probability')


def distributions_figure(branches: Sequence[Tuple[str, Sequence[Panel]]], title: str,
                         warning: Optional[str] = None):
    """One row per attention branch, its panels side by side: histogram + fitted normal.

    ``branches``: ``[(branch name, [(panel title, values, discrete), ...]), ...]``; a
    discrete panel shows the probability of each spike level, a continuous one a
    density histogram of the membrane potential.
    """
    cols = max(len(panels) for _, panels in branches)
    fig, axes = plt.subplots(len(branches), cols, figsize=(4 * cols, 3.2 * len(branches) + 0.8),
                             squeeze=False)
    for row, (branch, panels) in zip(axes, branches):
        for ax, (panel_title, values, discrete) in zip(row, panels):
            _distribution_panel(ax, np.asarray(values, dtype=np.float64), discrete)
            ax.set_title(f'{branch}\n{panel_title}', fontsize=8)
        for ax in row[len(panels):]:
            ax.axis('off')
    _title(fig, title, warning)
    fig.tight_layout(rect=(0, 0, 1, 0.93 if warning else 0.96))
    return fig


def _distribution_panel(ax, values: np.ndarray, discrete: bool) -> None:
    mu, sigma = values.mean(), values.std()
    xlabel, ylabel = SPIKE_AXES if discrete else MEMBRANE_AXES
    spacing = 1.0
    if discrete or sigma < 1e-9:  # probability mass per level (a constant: one bar of 1)
        levels, counts = np.unique(values, return_counts=True)
        spacing = float(np.diff(levels).min()) if len(levels) > 1 else 1.0
        label = 'spike levels' if discrete else f'all values = {mu:.3g}'
        ax.bar(levels, counts / counts.sum(), width=0.8 * spacing if len(levels) > 1 else 0.1,
               color=RATE_COLOR, alpha=0.6, label=label)
        ylabel = ylabel if discrete else 'probability'
    else:
        ax.hist(values, bins=60, density=True, color=RATE_COLOR, alpha=0.6, label='histogram')
    if sigma >= 1e-9:  # the normal fit; scaled to the level spacing for spike levels
        grid = np.linspace(values.min() - sigma, values.max() + sigma, 200)
        pdf = np.exp(-0.5 * ((grid - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
        ax.plot(grid, pdf * (spacing if discrete else 1.0), 'r-', lw=1,
                label=f'normal fit N({mu:.2f}, {sigma:.2f}²)')
    ax.set_xlabel(xlabel, fontsize=7)
    ax.set_ylabel(ylabel, fontsize=7)
    ax.legend(fontsize=6)


def plot_distributions(branches, path: str, title: str, warning: Optional[str] = None):
    """Write :func:`distributions_figure` to the PNG ``path``; return the (closed) figure."""
    return save_figure(distributions_figure(branches, title, warning), path, dpi=110)
