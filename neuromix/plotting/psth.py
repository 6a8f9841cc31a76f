"""Peri-stimulus time histograms from windows: a subject's real activity next to the
activity its decoder generates from another subject's latent.

If two subjects share a latent space, decoding subject k from subject m's latent gives
k's condition-specific firing, although the generating trials are m's: the generated
PSTHs per condition follow k's real ones.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import xarray as xr
from matplotlib.lines import Line2D

__all__ = ["generated_windows", "plot_psth", "window_psth"]


def window_psth(
    windows: xr.DataArray, *, label: str = "odor", n_lags: int = 10, bin_size: float = 0.01
) -> xr.DataArray:
    """Trial-averaged rate per condition, unit and time bin, from flattened windows.

    Each window is ``unit * n_lags + lag`` (neuron-major, as :meth:`NeuralModel.windows`)
    and starts at its ``time`` coordinate; its bin ``lag`` lies at ``time + lag *
    bin_size``. A bin's value is the mean over every window of the condition that covers
    it (for real counts, the same bin seen by overlapping windows of a trial has the same
    value, so this is the mean over trials), divided by ``bin_size``.

    Parameters
    ----------
    windows : xarray.DataArray
        Dims ``("sample", "feature")`` with coordinates ``label`` and ``time`` (window
        start, s) along ``sample``: e.g. ``model.windows().sel(rat="Mitt")`` or the
        output of :func:`generated_windows`. All-NaN features (padding) are dropped.
    label : str, default="odor"
        The condition.
    n_lags : int, default=10
        Bins per window (``window / bin_size``).
    bin_size : float, default=0.01
        Bin width, s.

    Returns
    -------
    xarray.DataArray
        Dims ``(label, "unit", "time")``, in events per second; ``time`` is each bin's
        start, s after onset.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> w = xr.DataArray(  # 2 windows of 1 unit x 2 lags, starting at 0 and 0.01 s
    ...     [[1.0, 3.0], [3.0, 5.0]], dims=("sample", "feature"),
    ...     coords={"odor": ("sample", ["A", "A"]), "time": ("sample", [0.0, 0.01])})
    >>> window_psth(w, n_lags=2).sel(odor="A", unit=0).values  # 1, (3+3)/2, 5 per 10 ms
    array([100., 300., 500.])
    """
    if not isinstance(windows, xr.DataArray) or set(windows.dims) != {"sample", "feature"}:
        raise TypeError("windows must be an xarray.DataArray with dims ('sample', 'feature')")
    for name in (label, "time"):
        if name not in windows.coords or windows[name].dims != ("sample",):
            raise ValueError(f"windows has no coordinate {name!r} along 'sample'")
    w = windows.transpose("sample", "feature").dropna("feature", how="all")
    if w.sizes["feature"] % n_lags:
        raise ValueError(f"{w.sizes['feature']} features are not a whole number of {n_lags} lags")
    values = np.asarray(w.values, dtype=float).reshape(w.sizes["sample"], -1, n_lags)
    first = np.rint(np.asarray(w["time"].values, dtype=float) / bin_size).astype(int)
    bins = first[:, None] + np.arange(n_lags)  # (sample, lag) bin index on the onset grid
    low, n_bins = bins.min(), bins.max() - bins.min() + 1
    conditions = list(dict.fromkeys(w[label].values))
    out = np.full((len(conditions), values.shape[1], n_bins), np.nan)
    for i, c in enumerate(conditions):
        mine = w[label].values == c
        total = np.zeros((n_bins, values.shape[1]))
        count = np.zeros(n_bins)
        np.add.at(total, bins[mine] - low, values[mine].transpose(0, 2, 1))
        np.add.at(count, bins[mine] - low, 1)
        with np.errstate(invalid="ignore"):
            out[i] = (total / count[:, None]).T / bin_size
    return xr.DataArray(
        out,
        dims=(label, "unit", "time"),
        coords={
            label: conditions,
            "unit": np.arange(values.shape[1]),
            "time": np.round((low + np.arange(n_bins)) * bin_size, 9),
        },
        name="rate",
        attrs={"units": "events/s"},
    )


def generated_windows(model, source: str, target: str, *, split: str = "test", sample=False):
    """Windows of subject ``target`` generated from subject ``source``'s latents.

    Every window of ``source``'s trials of ``split`` is encoded by its own encoder
    (q_source), and its latent (the posterior mean, or a draw with ``sample=True``)
    is decoded by ``target``'s decoder (:meth:`neuromix.MultimodalVAE.generate`).

    Parameters
    ----------
    model : NeuralModel
        Fitted.
    source, target : str
        Subjects of the model.
    split : {"test", "train"}, default="test"
        Trials of ``source`` to generate from.
    sample : bool, default=False
        Decode a draw of each posterior instead of its mean.

    Returns
    -------
    xarray.DataArray
        Dims ``("sample", "feature")``: the mean of ``target``'s likelihood, with the
        coordinates of ``source``'s windows (trial, window, labels), ready for
        :func:`window_psth`; ``time`` is the time of that window in ``target``'s
        trials (``target``'s window start + window index x step), since the window
        index, not the clock time, is what pairs subjects.
    """
    windows = model.windows()
    mine = (windows[model.subject_dim].values == source) & (windows["split"].values == split)
    if not mine.any():
        raise ValueError(f"no {split} window of subject {source!r}")
    src = windows.isel(sample=np.flatnonzero(mine)).dropna("feature", how="all")
    generated = model.vae_.generate({source: src.values}, target, sample=sample)
    coords = {
        name: ("sample", c.values)
        for name, c in src.coords.items()
        if c.dims == ("sample",) and name not in ("sample", model.subject_dim)
    }
    coords["time"] = (
        "sample",
        np.round(model.starts_[target] + src["window"].values * model.step, 9),
    )
    return xr.DataArray(
        generated,
        dims=("sample", "feature"),
        coords=coords,
        name="generated",
        attrs={"source": source, "target": target, "split": split},
    )


def _selective_units(rate: xr.DataArray, label: str, n: int) -> list[int]:
    """The ``n`` units whose rate differs most between conditions (variance over
    conditions, summed over time)."""
    spread = rate.var(label).sum("time").values
    return [int(u) for u in np.argsort(-spread, kind="stable")[:n]]


def plot_psth(
    rows: Mapping[str, xr.DataArray],
    *,
    label: str = "odor",
    units=4,
    n_lags: int = 10,
    bin_size: float = 0.01,
    palette=None,
    figsize: tuple[float, float] | None = None,
):
    """PSTHs per condition of a few units: one row per set of windows, one column per unit.

    Typically the first row is a subject's real windows and the next ones windows
    generated for it (:func:`generated_windows`), all on the same y scale per unit.

    Parameters
    ----------
    rows : mapping of str to xarray.DataArray
        Row title -> windows of one subject, ``("sample", "feature")`` with ``label``
        and ``time`` coordinates (see :func:`window_psth`).
    label : str, default="odor"
        The condition: one line per value.
    units : int or sequence of int, default=4
        Units to show: their indices, or how many of the units whose PSTH in the first
        row differs most between conditions (variance over conditions, summed over time).
    n_lags, bin_size
        As for :func:`window_psth`.
    palette : str or sequence, optional
        Seaborn palette of the conditions (default ``"tab10"``).
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        Axes row by row; in each, one ``Line2D`` per condition labelled with it.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> w = xr.DataArray(rng.poisson(1.0, size=(8, 6)).astype(float),
    ...     dims=("sample", "feature"),
    ...     coords={"odor": ("sample", list("AB") * 4), "time": ("sample", [0.0] * 8)})
    >>> fig = plot_psth({"real": w, "generated": w}, units=[0, 2], n_lags=2)
    >>> [ax.get_title() for ax in fig.axes]
    ['real · unit 0', 'real · unit 2', 'generated · unit 0', 'generated · unit 2']
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    if not isinstance(rows, Mapping) or not rows:
        raise TypeError("rows must be a non-empty mapping of row title -> windows")
    rates = {
        name: window_psth(w, label=label, n_lags=n_lags, bin_size=bin_size)
        for name, w in rows.items()
    }
    first = next(iter(rates.values()))
    if isinstance(units, int | np.integer):
        units = _selective_units(first, label, int(units))
    units = [int(u) for u in units]
    conditions = sorted(set().union(*(r[label].values.tolist() for r in rates.values())), key=str)
    colors = dict(
        zip(conditions, sns.color_palette(palette or "tab10", len(conditions)), strict=True)
    )
    fig, axes = plt.subplots(
        len(rates),
        len(units),
        squeeze=False,
        sharex=True,
        sharey="col",
        figsize=figsize or (3.0 * len(units) + 1.0, 2.1 * len(rates) + 0.3),
        layout="constrained",
    )
    for row, (name, rate) in zip(axes, rates.items(), strict=True):
        for ax, u in zip(row, units, strict=True):
            for c in conditions:
                if c in rate[label].values:
                    r = rate.sel({label: c, "unit": u})
                    ax.plot(r["time"].values, r.values, color=colors[c], label=str(c))
            ax.set_title(f"{name} · unit {u}", fontsize="small")
        row[0].set_ylabel("rate (1/s)")
    for ax in axes[-1]:
        ax.set_xlabel("time after onset (s)")
    handles = [Line2D([], [], color=colors[c], label=str(c)) for c in conditions]
    fig.legend(handles=handles, title=label, loc="outside right upper")
    return fig
