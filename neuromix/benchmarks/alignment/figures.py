"""Figures of the alignment benchmark: the transfer matrices and the summary."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["LABELS", "plot_summary", "plot_transfer"]

#: How each method is named in the figures and the report.
LABELS = {
    "mmvm-pairwise": "MMVM (pairwise)",
    "mmvm-mc": "MMVM (MC)",
    "independent": "independent",
    "avg": "AVG",
    "poe": "PoE",
    "moe": "MoE",
    "mopoe": "MoPoE",
    "cebra": "CEBRA",
    "procrustes": "PCA + Procrustes",
    "srm": "SRM",
    "raw": "raw windows",
}


def plot_transfer(table: pd.DataFrame, *, dataset: str = "rats", seed: int | None = None):
    """One heatmap of the transfer matrix per method (rows: trained on; columns: tested
    on; the diagonal is the within-subject accuracy)."""
    import matplotlib.pyplot as plt

    part = table[table.dataset == dataset]
    seed = int(part.seed.min()) if seed is None else seed
    part = part[part.seed == seed]
    n = len(part)
    cols = min(4, max(n, 1))
    rows = int(np.ceil(n / cols)) if n else 1
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.3 * cols, 3.2 * rows), squeeze=False, layout="constrained"
    )
    image = None
    for ax, (_, r) in zip(axes.flat, part.iterrows(), strict=False):
        m = np.array(r.transfer_matrix, dtype=float)
        image = ax.imshow(m, vmin=0, vmax=1, cmap="viridis")
        names = [str(s)[:5] for s in r.subjects]
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        for (i, j), v in np.ndenumerate(m):
            if np.isfinite(v):
                ax.text(
                    j,
                    i,
                    f"{v:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if v < 0.6 else "black",
                )
        across = f"transfer {r.transfer:.2f}" if np.isfinite(r.transfer) else "within only"
        ax.set_title(
            f"{LABELS.get(r.method, r.method)}\nwithin {r.within:.2f}, {across}", fontsize=8
        )
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(
            image, ax=axes, shrink=0.6, label="accuracy (trained on row, tested on column)"
        )
    fig.suptitle(f"{dataset}, seed {seed}: decoding transfer between subjects", fontsize=10)
    return fig


def plot_summary(summary: pd.DataFrame):
    """Within-subject accuracy and transfer per method, mean over seeds with the
    interval over seeds as error bars (none with one seed); chance dashed."""
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(summary.dataset))
    fig, axes = plt.subplots(
        1, len(datasets), figsize=(6.5 * len(datasets), 4), squeeze=False, layout="constrained"
    )
    for ax, dataset in zip(axes[0], datasets, strict=True):
        part = summary[summary.dataset == dataset].reset_index(drop=True)
        x = np.arange(len(part))
        for name, offset, marker in (("within", -0.12, "o"), ("transfer", 0.12, "s")):
            mean = part[name].to_numpy(float)
            low, high = part[f"{name}_low"].to_numpy(float), part[f"{name}_high"].to_numpy(float)
            err = np.vstack([mean - low, high - mean])
            err = np.where(np.isfinite(err), err, 0.0)
            ax.errorbar(x + offset, mean, yerr=err, fmt=marker, capsize=3, label=name)
        ax.axhline(part["chance"].mean(), ls="--", color="grey", lw=1, label="chance")
        ax.set_xticks(x, [LABELS.get(m, m) for m in part.method], rotation=45, ha="right")
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("decoding accuracy (held-out trials)")
        n = int(part.n_seeds.max())
        ax.set_title(
            f"{dataset}: mean over {n} seed{'s' * (n != 1)}"
            + (" (bars: 95% over seeds)" if n > 1 else ""),
            fontsize=9,
        )
        ax.legend(fontsize=8)
    return fig
