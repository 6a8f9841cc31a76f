"""Sliding windows over binned trials, as views of the counts.

A window is a ``(unit, lag)`` block of counts: ``window`` bins long, starting every
``step`` bins, lying fully inside the chosen time range ``[start, stop)``. Their number is
``n = floor((stop - start - window) / step) + 1``, computed in whole bins; the paper's 16
windows of 100 ms every 10 ms span 250 ms (``start=0.25, stop=0.5``).

The model's input is a window flattened **neuron-major** (all lags of unit 0, then all
lags of unit 1, ...), i.e. ``block.reshape(n_units * n_lags)`` of a ``(unit, lag)``
block, as in the paper; :func:`flatten_windows` does that for every window.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from numpy.lib.stride_tricks import sliding_window_view

from neuromix.data._binned import (
    BINNED_DIMS,
    _binned_grid,
    _binned_subject,
    _grid_index,
    _round_coord,
)
from neuromix.data._checks import _prefix
from neuromix.data._ticks import _positive_bins

__all__ = ["WINDOW_DIMS", "flatten_windows", "n_windows", "sliding_windows"]

#: Dims of :func:`sliding_windows` output, in order.
WINDOW_DIMS = ("trial", "window", "unit", "lag")


def _window_bins(
    span_bins: int, window: float, step: float, bin_size: float, subject: str | None
) -> tuple[int, int, int]:
    """(window bins, step bins, number of windows) for a range of ``span_bins`` bins."""
    window_bins = _positive_bins(window, bin_size, "window", subject)
    step_bins = _positive_bins(step, bin_size, "step", subject)
    if window_bins > span_bins:
        raise ValueError(
            f"{_prefix(subject)}window: {window!r} s is longer than the time range "
            f"({span_bins} bins of {bin_size!r} s)"
        )
    return window_bins, step_bins, (span_bins - window_bins) // step_bins + 1


def n_windows(
    start: float, stop: float, window: float, step: float, *, bin_size: float = 0.01
) -> int:
    """Number of windows lying fully inside ``[start, stop)``.

    Parameters
    ----------
    start, stop : float
        Time range in seconds (relative to trial onset); ``stop - start`` must be a
        whole number of bins.
    window, step : float
        Window length and step in seconds, whole multiples of ``bin_size``.
    bin_size : float, default 0.01
        Bin width in seconds; the count is computed in whole bins so that float error
        cannot drop or add a window.

    Returns
    -------
    int
        ``floor((stop - start - window) / step) + 1``.

    Examples
    --------
    >>> n_windows(0.25, 0.5, 0.1, 0.01)
    16
    >>> n_windows(0.0, 2.0, 0.1, 0.05)
    39
    """
    span_bins = _positive_bins(float(stop) - float(start), bin_size, "stop - start")
    return _window_bins(span_bins, window, step, bin_size, None)[2]


def sliding_windows(
    counts: xr.DataArray,
    *,
    window: float = 0.1,
    step: float = 0.01,
    start: float | None = None,
    stop: float | None = None,
) -> xr.DataArray:
    """Cut every trial into overlapping windows, without copying the counts.

    Parameters
    ----------
    counts : xarray.DataArray
        Binned counts with dims ``("trial", "unit", "time")``, as returned by
        :func:`~neuromix.data.bin_trials`, :func:`~neuromix.data.from_xarray` or
        :func:`~neuromix.load_published`.
    window, step : float, default 0.1 and 0.01
        Window length and step in seconds, whole multiples of the bin size.
    start, stop : float, optional
        Time range (relative to onset) in which windows must lie fully; the whole
        ``time`` axis by default. Must be on the bin grid.

    Returns
    -------
    xarray.DataArray
        Dims ``("trial", "window", "unit", "lag")``: coord ``window`` = window start
        relative to onset (s), ``lag`` = offset of a bin within its window (s); coords
        along ``trial`` and ``unit`` carried over, attrs too plus ``window`` and
        ``step``. The data is a read-only **view** of ``counts`` built with
        :func:`numpy.lib.stride_tricks.sliding_window_view`: no window is copied.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> counts = xr.DataArray(np.arange(12).reshape(1, 2, 6), dims=("trial", "unit", "time"),
    ...                       coords={"time": np.arange(6) * 0.01}, attrs={"bin_size": 0.01})
    >>> w = sliding_windows(counts, window=0.03, step=0.02)
    >>> dict(w.sizes)
    {'trial': 1, 'window': 2, 'unit': 2, 'lag': 3}
    >>> w.isel(trial=0, window=1).values
    array([[ 2,  3,  4],
           [ 8,  9, 10]])
    >>> np.shares_memory(w.values, counts.values)
    True
    """
    subject = _binned_subject(counts) if isinstance(counts, xr.DataArray) else None
    bin_size, first, n_time = _binned_grid(counts, subject)
    i0 = 0 if start is None else _grid_index(start, first, bin_size, "start", subject)
    i1 = n_time if stop is None else _grid_index(stop, first, bin_size, "stop", subject)
    if not 0 <= i0 < i1 <= n_time:
        lo = first if start is None else start
        hi = float(np.round(first + n_time * bin_size, 9))
        raise ValueError(
            f"{_prefix(subject)}[start, stop) = [{lo!r}, {hi if stop is None else stop!r}) "
            f"is empty or outside the binned data, which covers "
            f"[{float(np.round(first, 9))!r}, {hi!r}) s"
        )
    window_bins, step_bins, n = _window_bins(i1 - i0, window, step, bin_size, subject)

    ordered = counts.transpose(*BINNED_DIMS)
    values = np.asarray(ordered.variable.values)[:, :, i0:i1]
    # (trial, unit, start, lag) -> every step-th start -> (trial, window, unit, lag):
    # strides only, so the result shares memory with ``counts``.
    view = sliding_window_view(values, window_bins, axis=2)[:, :, ::step_bins][:, :, :n]
    view = view.transpose(0, 2, 1, 3)

    time = ordered["time"].values[i0:i1]
    coords: dict[str, Any] = {
        name: coord
        for name, coord in ordered.coords.items()
        if coord.dims in ((), ("trial",), ("unit",))
    }
    coords["window"] = time[::step_bins][:n]
    coords["lag"] = _round_coord(np.arange(window_bins) * bin_size)
    return xr.DataArray(
        view,
        dims=WINDOW_DIMS,
        coords=coords,
        attrs={**ordered.attrs, "window": float(window), "step": float(step)},
        name=ordered.name,
    )


def flatten_windows(windows: xr.DataArray, *, dtype: Any = None) -> np.ndarray:
    """Flatten every window neuron-major into one row: the model's input matrix.

    Parameters
    ----------
    windows : xarray.DataArray
        Output of :func:`sliding_windows`, dims ``("trial", "window", "unit", "lag")``
        in any order.
    dtype : numpy dtype, optional
        Type of the result (e.g. ``np.float32``); the type of the counts by default.

    Returns
    -------
    numpy.ndarray of shape (n_trials * n_windows, n_units * n_lags)
        Row ``i * n_windows + j`` is window ``j`` of trial ``i``; within a row, all
        lags of unit 0, then all lags of unit 1, ... (``block.reshape(-1)`` of the
        ``(unit, lag)`` block). This **copies** the data (windows overlap in memory,
        their rows cannot): meant for data small enough to hold, such as one
        subject's training windows.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> counts = xr.DataArray(np.arange(12).reshape(1, 2, 6), dims=("trial", "unit", "time"),
    ...                       coords={"time": np.arange(6) * 0.01}, attrs={"bin_size": 0.01})
    >>> flatten_windows(sliding_windows(counts, window=0.03, step=0.02))
    array([[ 0,  1,  2,  6,  7,  8],
           [ 2,  3,  4,  8,  9, 10]])
    """
    if not isinstance(windows, xr.DataArray):
        raise TypeError(
            f"windows: expected an xarray.DataArray with dims {WINDOW_DIMS}, "
            f"got {type(windows).__name__}"
        )
    if set(windows.dims) != set(WINDOW_DIMS) or windows.ndim != len(WINDOW_DIMS):
        raise ValueError(
            f"{_prefix(_binned_subject(windows))}windows: expected dims {WINDOW_DIMS}, "
            f"got {windows.dims}"
        )
    ordered = windows.transpose(*WINDOW_DIMS)
    n_trials, n_win, n_units, n_lags = ordered.shape
    flat = np.reshape(ordered.values, (n_trials * n_win, n_units * n_lags))
    if dtype is not None:
        return flat.astype(dtype)
    # reshape of a strided view already copies; copy explicitly when it did not, so the
    # result never aliases the counts.
    return flat.copy() if np.may_share_memory(flat, ordered.values) else flat
