"""Figures of the datasets suite: every dataset's scores, and beta="auto" against fixed beta."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["beta_figure", "summary_figure"]

#: What the summary draws: (method or group, label, marker, colour).
_MARKS = (
    ("mmvm", "neuromix MMVM (defaults)", "o", "C3"),
    ("mmvm-previous", "MMVM, previous defaults", "x", "0.4"),
    ("reference", "minimal MMVM (best of beta 1, 10)", "s", "C0"),
    ("aligner", "best of Procrustes, SRM, CEBRA", "^", "C2"),
)


def _values(table: pd.DataFrame, metric: str) -> dict[str, pd.Series]:
    def of(methods):
        part = table[table["method"].isin(methods)]
        return part.groupby("dataset")[metric].max()

    return {
        "mmvm": of(["mmvm"]),
        "mmvm-previous": of(["mmvm-previous"]),
        "reference": of(["reference-b1", "reference-b10"]),
        "aligner": of(["procrustes", "srm", "cebra"]),
        "raw": of(["raw"]),
        "chance": table.groupby("dataset")["chance"].mean(),
    }


def summary_figure(table: pd.DataFrame, datasets: list[str]):
    """Within-subject decoding and transfer per dataset: neuromix at its defaults and
    before them, the minimal MMVM, the best aligner, the raw windows and chance."""
    fig, axes = plt.subplots(
        1, 2, figsize=(11, 0.42 * len(datasets) + 1.6), sharey=True, layout="constrained"
    )
    y = np.arange(len(datasets))[::-1]
    for ax, metric, title in zip(
        axes, ("within", "transfer"), ("within subjects", "transfer between subjects"),
        strict=True,
    ):  # fmt: skip
        values = _values(table, metric)
        chance = values["chance"].reindex(datasets)
        ax.scatter(chance, y, marker="|", s=200, color="0.6", label="chance")
        if metric == "within":
            raw = values["raw"].reindex(datasets)
            ax.scatter(raw, y, marker="D", s=28, facecolors="none", edgecolors="k",
                       label="raw windows (within only)")  # fmt: skip
        for key, label, marker, colour in _MARKS:
            v = values[key].reindex(datasets)
            ax.scatter(v, y, marker=marker, s=36, color=colour, label=label, zorder=3)
        ax.set_title(title)
        ax.set_xlabel("held-out decoding accuracy")
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlim(0, 1.02)
    axes[0].set_yticks(y, datasets)
    # the within panel has every mark (the raw windows are decoded within subjects only)
    handles, labels = axes[0].get_legend_handles_labels()
    axes[1].legend(handles, labels, loc="lower left", fontsize="small", bbox_to_anchor=(1.02, 0.0))
    return fig


def beta_figure(candidates: pd.DataFrame, datasets: list[str]):
    """Transfer (and within) of every beta of the selection per dataset, the automatic
    choice circled."""
    betas = sorted(candidates["beta"].unique())
    fig, axes = plt.subplots(
        1, 2, figsize=(11, 0.42 * len(datasets) + 1.6), sharey=True, layout="constrained"
    )
    for ax, metric in zip(axes, ("within", "transfer"), strict=True):
        grid = (
            candidates.pivot(index="dataset", columns="beta", values=metric)
            .reindex(index=datasets, columns=betas)
            .to_numpy()
        )
        image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for i, d in enumerate(datasets):
            for j in range(len(betas)):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="w" if grid[i, j] < 0.6 else "k")  # fmt: skip
            chosen = candidates[(candidates["dataset"] == d) & candidates["chosen"]]
            if len(chosen):
                j = betas.index(float(chosen["beta"].iloc[0]))
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2,
                                           ec="C3"))  # fmt: skip
        ax.set_xticks(range(len(betas)), [f"{b:g}" for b in betas])
        ax.set_xlabel("beta")
        ax.set_title(f"{metric} (red: beta='auto' chose it)")
    axes[0].set_yticks(range(len(datasets)), datasets)
    fig.colorbar(image, ax=axes, shrink=0.6, label="held-out accuracy")
    return fig
