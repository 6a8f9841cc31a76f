"""The PolyMNIST figures: the paper's Figure 2 (and, with ``x="recon_self"``, its
appendix Figure 7), drawn by :func:`plot_figure2`."""

from __future__ import annotations

import pandas as pd

from neuromix.benchmarks.polymnist.settings import _CHANCE, METHODS

__all__ = ["plot_figure2"]


def plot_figure2(table: pd.DataFrame, *, x: str = "recon", reference: float | None = None):
    """The paper's Figure 2: ``x`` against probe accuracy (left) and coherence (right).

    One line per method through its seed-averaged points in order of increasing beta
    (arrows from small to large beta), drawn by
    :func:`neuromix.plotting.decoding.plot_tradeoff`; chance (0.1) dashed; ``reference``
    (e.g. the probe on principal components of the pixels) dotted on the left panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from neuromix.plotting.decoding import plot_tradeoff

    order = [m for m in METHODS if m in set(table["method"])]
    order += [m for m in pd.unique(table["method"]) if m not in order]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
    what = "self-reconstruction error" if x == "recon_self" else "reconstruction error"
    for ax, (y, title) in zip(
        axes,
        (("accuracy", "latent representation (linear probe)"), ("coherence", "coherence")),
        strict=True,
    ):
        plot_tradeoff(table, x=x, y=y, hue="method", order_by="beta", hue_order=order, ax=ax)
        ax.axhline(_CHANCE, color="0.6", linestyle="--", linewidth=0.8, zorder=0)
        if reference is not None and y == "accuracy":
            ax.axhline(reference, color="0.3", linestyle=":", linewidth=1.0, zorder=0)
            ax.annotate(
                "probe on PCA of the pixels",
                (0.01, reference),
                xycoords=("axes fraction", "data"),
                fontsize=7,
                va="bottom",
            )
        ax.set_title(title)
        ax.set_xlabel(f"{what} (Laplace NLL per tuple, sum over modalities)")
        ax.set_ylabel(f"{y} (test)")
    axes[1].get_legend().remove()
    fig.suptitle("translated PolyMNIST (better: up and to the left)", fontsize=10)
    return fig
