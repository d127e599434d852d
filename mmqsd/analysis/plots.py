"""Matplotlib figures of the analysis tools (PNG, headless)."""
import math

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_energy(result: dict, path: str) -> None:
    """Per-layer firing rate (spike-input layers) and energy bars."""
    names = list(result['layers'])
    rows = [result['layers'][n] for n in names]
    fig, (ax_rate, ax_energy) = plt.subplots(2, 1, figsize=(max(8, len(names) * 0.12), 7),
                                             sharex=True)
    x = np.arange(len(names))
    ax_rate.bar(x, [r['fr'] if r['fr'] is not None else 0 for r in rows], color='tab:blue')
    ax_rate.set_ylabel('input spikes / neuron / step')
    ax_rate.set_title(f'firing rate and energy per layer (total {result["energy_mj"]:.3f} mJ)')
    colors = ['tab:orange' if r['spike_input'] else 'tab:red' for r in rows]
    ax_energy.bar(x, [r['energy_mj'] * 1e3 for r in rows], color=colors)
    ax_energy.set_ylabel('energy (uJ); red = MAC layer')
    ax_energy.set_xticks(x[::max(1, len(x) // 40)])
    ax_energy.set_xticklabels([names[i] for i in x[::max(1, len(x) // 40)]], rotation=90,
                              fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_distributions(panels, path: str) -> None:
    """Histograms with a fitted normal curve; ``panels`` = [(title, values, levels|None)]."""
    cols = 3
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, (title, values, discrete) in zip(axes.flat, panels):
        values = np.asarray(values, dtype=np.float64)
        mu, sigma = values.mean(), values.std() + 1e-12
        grid = np.linspace(values.min() - sigma, values.max() + sigma, 200)
        pdf = np.exp(-0.5 * ((grid - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
        if discrete:  # probability mass per spike level; the normal scaled to the level spacing
            levels, counts = np.unique(values, return_counts=True)
            spacing = float(np.diff(levels).min()) if len(levels) > 1 else 1.0
            ax.bar(levels, counts / counts.sum(), width=0.8 * spacing, color='tab:blue', alpha=0.6)
            pdf = pdf * spacing
        else:
            ax.hist(values, bins=60, density=True, color='tab:blue', alpha=0.6)
        ax.plot(grid, pdf, 'r-', lw=1, label=f'N({mu:.2f}, {sigma:.2f}^2)')
        ax.legend(fontsize=6)
        ax.set_title(title, fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
