"""Where the response is: the label-dependence statistic over time, and each onset."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from neuromix.plotting._axes import axes_list

__all__ = ["plot_response_onset"]

_NEEDED = ("onset", "statistic", "threshold")


def _check(result) -> str:
    if not isinstance(result, xr.Dataset):
        raise TypeError(
            "result must be an xarray.Dataset as returned by neuromix.response_onset, "
            f"got {type(result).__name__}"
        )
    missing = [name for name in _NEEDED if name not in result.data_vars]
    if missing:
        raise ValueError(
            f"result has no {', '.join(map(repr, missing))}; variables: "
            f"{', '.join(map(str, result.data_vars))}"
        )
    if result["onset"].ndim != 1 or result["statistic"].ndim != 2:
        raise ValueError(
            "result['onset'] must have one dimension (the subjects) and "
            "result['statistic'] two (subjects, time)"
        )
    dim = result["onset"].dims[0]
    if set(result["statistic"].dims) != {dim, "time"}:
        raise ValueError(
            f"result['statistic'] must have dims ({dim!r}, 'time'), got {result['statistic'].dims}"
        )
    if result.sizes[dim] == 0:
        raise ValueError(f"result has no {dim}")
    return dim


def plot_response_onset(
    result: xr.Dataset,
    *,
    ax=None,
    ncols: int = 3,
    figsize: tuple[float, float] | None = None,
):
    """The label-dependence statistic of each subject over time, its threshold and onset.

    Per subject: the statistic (solid), the mean of its label-shuffled null (grey, when
    present), the threshold (dashed) and a vertical line at the onset, labelled with its
    time; the first ``min_duration`` after the onset is shaded.

    Parameters
    ----------
    result : xarray.Dataset
        As returned by :func:`neuromix.response_onset`: ``onset`` and ``threshold``
        along the subject dimension, ``statistic`` (subject, ``time``), optionally
        ``null``; attrs ``label`` and ``min_duration`` are used when present.
    ax : matplotlib Axes or sequence of Axes, optional
        One Axes: every subject overlaid in its own colour. As many Axes as subjects:
        one panel each. Default: a new figure with one panel per subject.
    ncols : int, default=3
        Panels per row of a new figure.
    figsize : (float, float), optional
        Size of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> time = np.arange(50) * 0.01
    >>> stat = np.where(time >= [[0.15], [0.3]], 3.0, 1.0)
    >>> result = xr.Dataset(
    ...     {"onset": ("rat", [0.15, 0.3]), "threshold": ("rat", [1.3, 1.3]),
    ...      "statistic": (("rat", "time"), stat)},
    ...     coords={"rat": ["Barat", "Mitt"], "time": time})
    >>> fig = plot_response_onset(result)
    >>> [a.get_title() for a in fig.axes]
    ['Barat: onset 0.15 s', 'Mitt: onset 0.30 s']
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    dim = _check(result)
    names = [str(s) for s in result[dim].values]
    n = len(names)
    if ax is None:
        ncols = max(1, min(int(ncols), n))
        nrows = -(-n // ncols)
        if figsize is None:
            figsize = (3.6 * ncols, 2.6 * nrows)
        fig, grid = plt.subplots(
            nrows, ncols, figsize=figsize, sharex=True, squeeze=False, layout="constrained"
        )
        axes = list(grid.ravel())
        for extra in axes[n:]:
            extra.set_visible(False)
        axes = axes[:n]
    else:
        axes = axes_list(ax, n)
        if axes is None or len(axes) not in (1, n):
            raise ValueError(
                f"ax must be one Axes (subjects overlaid) or a sequence of {n} Axes "
                f"(one per {dim}), got {ax!r}"
            )
        fig = axes[0].figure
    overlay = len(axes) == 1 and n > 1
    span = float(result.attrs.get("min_duration", 0.0))
    label = result.attrs.get("label")
    time = np.asarray(result["time"].values, dtype=float)
    for i, name in enumerate(names):
        a = axes[0] if overlay else axes[i]
        color = f"C{i % 10}" if overlay else "C0"
        sel = result.sel({dim: result[dim].values[i]})
        stat = np.asarray(sel["statistic"].transpose("time").values, dtype=float)
        onset = float(sel["onset"])
        threshold = float(sel["threshold"])
        a.plot(time, stat, color=color, linewidth=1.2, label=name if overlay else "statistic")
        if "null" in result.data_vars and not overlay:
            null = np.asarray(sel["null"].transpose("time").values, dtype=float)
            a.plot(time, null, color="0.6", linewidth=0.8, label="shuffled labels (mean)")
        a.axhline(
            threshold,
            color=color if overlay else "0.3",
            linestyle="--",
            linewidth=0.8,
            label=None if overlay else "threshold",
        )
        if np.isfinite(onset):
            a.axvline(onset, color=color if overlay else "C3", linewidth=1.2)
            if span > 0:
                a.axvspan(onset, onset + span, color=color if overlay else "C3", alpha=0.1)
            if not overlay:
                a.set_title(f"{name}: onset {onset:.2f} s")
        elif not overlay:
            a.set_title(f"{name}: no onset found")
        if ax is not None or overlay or i + ncols >= n:  # no panel below this one
            a.set_xlabel("time after trial onset (s)")
        if ax is not None or overlay or i % ncols == 0:
            a.set_ylabel(f"F of {label!r}, mean over units" if label else "statistic")
    if overlay:
        axes[0].set_title("response onset" + (f" ({label})" if label else ""))
        axes[0].legend(fontsize="small", title=dim)
    else:
        axes[0].legend(fontsize="x-small", loc="upper right")
    return fig
