"""Each condition's mean path through the latent space over the windows of a trial.

One panel per subject: for every condition, the latent averaged over that condition's
trials at each window, the windows joined in time order and the first one marked.
Subjects share a latent space when their panels show the same paths, not only the same
clouds.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import xarray as xr
from matplotlib.lines import Line2D
from sklearn.decomposition import PCA

__all__ = ["condition_trajectories", "plot_trajectories"]


def _check(latents, subject_dim: str, label: str, split: str | None) -> None:
    if not isinstance(latents, xr.DataArray) or set(latents.dims) != {"sample", "latent"}:
        raise TypeError(
            "latents must be an xarray.DataArray with dims ('sample', 'latent'), as returned "
            f"by NeuralModel.latents(); got {type(latents).__name__}"
        )
    along = [str(n) for n, c in latents.coords.items() if c.dims == ("sample",)]
    needed = [subject_dim, label, "window"] + (["split"] if split is not None else [])
    lacking = [n for n in needed if n not in along]
    if lacking:
        raise ValueError(
            f"latents has no coordinate {', '.join(map(repr, lacking))} along 'sample'; "
            f"coordinates along 'sample': {', '.join(along)}"
        )
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be None, 'train' or 'test', got {split!r}")


def _sorted(values):
    """Conditions in sorted order (as plot_embeddings colours them), else as they come."""
    try:
        return np.array(sorted(values), dtype=object)
    except TypeError:
        return values


def condition_trajectories(
    latents: xr.DataArray, *, subject_dim: str, label: str = "odor", split: str | None = None
) -> xr.DataArray:
    """Mean latent of each subject, condition and window of a trial.

    Parameters
    ----------
    latents : xarray.DataArray
        Dims ``("sample", "latent")`` with coordinates ``subject_dim``, ``label`` and
        ``window`` along ``sample`` (and ``split`` for ``split``), as returned by
        :meth:`neuromix.NeuralModel.latents`.
    subject_dim : str
        Name of the subject coordinate (e.g. ``"rat"``).
    label : str, default="odor"
        The condition.
    split : {"train", "test"}, optional
        Average only the windows of training or held-out trials (default: all).

    Returns
    -------
    xarray.DataArray
        Dims ``(subject_dim, label, "window", "latent")``, conditions sorted; NaN where a
        subject has no
        trial of a condition.

    Examples
    --------
    >>> from neuromix.datasets import example_latents
    >>> latents = example_latents(seed=None)  # 2 rats x 4 trials (odors A, B) x 3 windows
    >>> paths = condition_trajectories(latents, subject_dim="rat")
    >>> paths.dims, paths.shape
    (('rat', 'odor', 'window', 'latent'), (2, 2, 3, 2))
    >>> paths.sel(rat="Barat", odor="A", window=0).values  # rows 0 and 6
    array([6., 7.])
    """
    _check(latents, subject_dim, label, split)
    lat = latents.transpose("sample", "latent")
    keep = np.ones(lat.sizes["sample"], dtype=bool)
    if split is not None:
        keep = lat["split"].values == split
        if not keep.any():
            raise ValueError(f"split={split!r}: no window of latents belongs to that split")
    frame = pd.DataFrame(np.asarray(lat.values, dtype=float)[keep], columns=lat["latent"].values)
    keys = [subject_dim, label, "window"]
    for k in keys:
        frame[k] = lat[k].values[keep]
    means = frame.groupby(keys, sort=False).mean()
    values = [pd.unique(frame[subject_dim]), _sorted(pd.unique(frame[label]))]
    values.append(np.sort(pd.unique(frame["window"])))
    full = pd.MultiIndex.from_product(values, names=keys)
    cube = means.reindex(full).to_numpy().reshape(*map(len, values), -1)
    coords = dict(zip(keys, values, strict=True))
    coords["latent"] = lat["latent"].values
    return xr.DataArray(cube, dims=(*keys, "latent"), coords=coords, name="trajectory")


def plot_trajectories(
    latents: xr.DataArray,
    *,
    subject_dim: str,
    label: str = "odor",
    split: str | None = None,
    windows: bool = True,
    palette=None,
    figsize: tuple[float, float] | None = None,
):
    """Each condition's mean latent trajectory over a trial, one panel per subject.

    In each subject's panel a line per condition joins its mean latents
    (:func:`condition_trajectories`) window after window, and a large dot marks the
    first window. Behind them (``windows=True``) the single windows, faint, in the
    colour of their condition; the axes show every trajectory and the central 98% of
    each subject's windows. Latents of more than two dimensions are projected on the
    two principal components of all subjects' mean trajectories together, so that every
    panel has the same axes.

    Parameters
    ----------
    latents : xarray.DataArray
        As for :func:`condition_trajectories`.
    subject_dim : str
        Name of the subject coordinate.
    label : str, default="odor"
        The condition: one line per value.
    split : {"train", "test"}, optional
        Use only the windows of training or held-out trials (default: all).
    windows : bool, default=True
        Also draw the single windows behind the trajectories.
    palette : str or sequence, optional
        Seaborn palette of the conditions (default ``"tab10"``).
    figsize : (float, float), optional
        Size of the figure.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes per subject; in each, one ``Line2D`` per condition labelled with it.

    Examples
    --------
    >>> from neuromix.datasets import example_latents
    >>> latents = example_latents()
    >>> fig = plot_trajectories(latents, subject_dim="rat")
    >>> [ax.get_title() for ax in fig.axes]
    ['Barat', 'Mitt']
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['A', 'B']
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    paths = condition_trajectories(latents, subject_dim=subject_dim, label=label, split=split)
    subjects, conditions = paths[subject_dim].values, paths[label].values
    flat = paths.values.reshape(-1, paths.sizes["latent"])
    if paths.sizes["latent"] == 2:
        project, names = (lambda v: v), ("latent 0", "latent 1")
    elif paths.sizes["latent"] > 2:
        pca = PCA(n_components=2).fit(flat[np.isfinite(flat).all(axis=1)])
        project, names = pca.transform, ("PC 1", "PC 2")
    else:
        raise ValueError("plot_trajectories needs latents of at least 2 dimensions")
    colors = dict(
        zip(conditions, sns.color_palette(palette or "tab10", len(conditions)), strict=True)
    )

    n = len(subjects)
    ncols = min(n, 5)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=figsize or (2.8 * ncols + 1.2, 2.8 * nrows + 0.3),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    lat = latents.transpose("sample", "latent")
    shown = [project(flat[np.isfinite(flat).all(axis=1)])]
    for ax, s in zip(axes.flat, subjects, strict=False):
        if windows:
            mine = lat[subject_dim].values == s
            if split is not None:
                mine &= lat["split"].values == split
            xy = project(np.asarray(lat.values, dtype=float)[mine])
            cs = [colors[c] for c in lat[label].values[mine]]
            ax.scatter(xy[:, 0], xy[:, 1], c=cs, s=3, alpha=0.12, linewidths=0, rasterized=True)
            shown.append(np.percentile(xy, [1, 99], axis=0))
        for c in conditions:
            xy = paths.sel({subject_dim: s, label: c}).values
            if not np.isfinite(xy).all():
                continue
            xy = project(xy)
            ax.plot(
                xy[:, 0], xy[:, 1], "-o", color=colors[c], markersize=2.5, lw=1.5, label=str(c)
            )
            ax.scatter(xy[:1, 0], xy[:1, 1], s=30, color=colors[c], edgecolors="black", zorder=3)
        ax.set_title(str(s))
    # Limits: every trajectory and the central 98% of each subject's windows, so that
    # a few outlying windows do not shrink the trajectories to dots.
    low, high = (
        np.min([v.min(axis=0) for v in shown], 0),
        np.max([v.max(axis=0) for v in shown], 0),
    )
    pad = 0.05 * (high - low) + 1e-9
    axes[0, 0].set(
        xlim=(low[0] - pad[0], high[0] + pad[0]), ylim=(low[1] - pad[1], high[1] + pad[1])
    )
    for ax in axes.flat[n:]:
        ax.remove()
    for ax in axes[-1, :]:
        ax.set_xlabel(names[0])
    for ax in axes[:, 0]:
        ax.set_ylabel(names[1])
    handles = [
        Line2D([], [], color=colors[c], marker="o", markersize=3, label=str(c)) for c in conditions
    ]
    handles.append(
        Line2D([], [], ls="", marker="o", color="0.6", mec="black", ms=7, label="first window")
    )
    fig.legend(handles=handles, title=label, loc="outside right upper")
    return fig
