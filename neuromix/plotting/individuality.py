"""Where each subject departs from the shared space: the individuality map."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import xarray as xr

__all__ = ["plot_individuality"]


def plot_individuality(individuality: xr.DataArray, *, ax=None, figsize=None, cmap="magma"):
    """One row per subject and condition, one column per window: the divergence of the
    subject's posterior from the other subjects' (:meth:`NeuralModel.individuality`).

    Parameters
    ----------
    individuality : xarray.DataArray
        ``(subject, condition, "window")``, as returned by
        :meth:`neuromix.NeuralModel.individuality`.
    ax : matplotlib Axes, optional
    figsize : (float, float), optional
    cmap : str, default="magma"

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> da = xr.DataArray(np.arange(8.0).reshape(2, 2, 2), dims=("rat", "odor", "window"),
    ...                   coords={"rat": ["Barat", "Mitt"], "odor": ["A", "B"]})
    >>> fig = plot_individuality(da)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()][:2]
    ['Barat · A', 'Barat · B']
    >>> plt.close(fig)
    """
    if not isinstance(individuality, xr.DataArray) or individuality.ndim != 3:
        raise TypeError(
            "individuality must be the (subject, condition, window) DataArray of "
            "NeuralModel.individuality()"
        )
    subject_dim, condition_dim, window_dim = individuality.dims
    values = np.asarray(individuality.values, dtype=float)
    n_s, n_c, n_w = values.shape
    rows = [
        f"{s} · {c}"
        for s in individuality[subject_dim].values
        for c in individuality[condition_dim].values
    ]
    if "time" in individuality.coords:
        columns = [f"{t * 1000:.0f}" for t in individuality["time"].values]
        xlabel = "window start from onset (ms)"
    else:
        columns = [str(w) for w in range(n_w)]
        xlabel = window_dim
    if ax is None:
        size = figsize or (max(5.0, 0.32 * n_w + 3.0), max(3.0, 0.28 * n_s * n_c + 1.5))
        fig, ax = plt.subplots(figsize=size, layout="constrained")
    fig = ax.figure
    sns.heatmap(
        values.reshape(n_s * n_c, n_w), ax=ax, cmap=cmap, vmin=0.0,
        xticklabels=columns, yticklabels=rows,
        cbar_kws={"label": "KL to the other subjects (nats)", "shrink": 0.8},
    )  # fmt: skip
    for k in range(1, n_s):  # separate the subjects
        ax.axhline(k * n_c, color="white", linewidth=1.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{subject_dim} · {condition_dim}")
    title = "where each subject departs from the others"
    if "method" in individuality.attrs:
        title += f" ({individuality.attrs['method']})"
    ax.set_title(title)
    return fig
