"""Exact binning of spike trains into compact counts.

Exactness rule
--------------
Every time (spike, edge, onset) is converted to an integer number of clock ticks,
``np.rint(t / res)``, with ``res`` the recording's ``time_resolution`` when known and
1 ns otherwise; the bin width must be a whole number of ticks. A spike at tick ``k``
goes to bin ``(k - start_tick) // bin_ticks``, so a spike on an edge always lands in
the bin that *starts* there, whatever the floating-point error of ``t / bin_size``.

Counts are stored in the smallest unsigned integer type that holds them
(``dtype="auto"``): one byte per bin in practice, so 1,000 units x 1 hour at 10 ms is
360 MB, never an int64 array of that size.

The binned form
---------------
:func:`bin_trials` returns the binned form shared by the whole data path: an
:class:`xarray.DataArray` of counts with dims ``("trial", "unit", "time")``, ``time`` =
bin start relative to trial onset in seconds, one coord along ``trial`` per column of
the trial table, and ``attrs`` ``subject``, ``bin_size`` and ``time_resolution``.

Where the pieces live
---------------------
This module bins; the checks of what users pass (seconds, spike times, trial times,
dtypes) are in ``neuromix.data._checks``, the clock-tick rule in ``neuromix.data._ticks``,
the layout of the binned form in ``neuromix.data._binned`` and the output array of
counts in ``neuromix.data._counts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neuromix.data._binned import (
    BINNED_DIMS,
    _binned_grid,
    _binned_subject,
    _grid_index,
    _round_coord,
)
from neuromix.data._checks import (
    _check_bin_size,
    _check_dtype,
    _prefix,
    _time_column,
    _trial_ids,
    _unit_array,
    _unit_sequence,
)
from neuromix.data._checks import _seconds as _seconds
from neuromix.data._counts import _compact_dtype, _Counts
from neuromix.data._ticks import DEFAULT_RESOLUTION as DEFAULT_RESOLUTION
from neuromix.data._ticks import MAX_TICKS as MAX_TICKS
from neuromix.data._ticks import (
    _positive_bins,
    _resolution,
    _tick,
    _to_ticks,
    _whole_ticks,
)
from neuromix.data.recording import Recording

# Re-exported (``x as x``): the public constants of the exactness rule, as before the
# split; and ``_seconds`` for neuromix.estimators._inputs, which another branch edits
# (import it from neuromix.data._checks there, then drop it here). The other helpers
# that estimators, evaluation and io still import from here (``_prefix``,
# ``_positive_bins``, ``_binned_grid``) are used by this module anyway.

__all__ = ["bin_spikes", "bin_trials"]


def _is_sorted(ticks: np.ndarray) -> bool:
    return bool(np.all(ticks[1:] >= ticks[:-1]))


# --------------------------------------------------------------------------- bin_spikes


def bin_spikes(
    spike_times: Sequence[Any],
    *,
    t_start: float,
    t_stop: float,
    bin_size: float = 0.01,
    time_resolution: float | None = None,
    dtype: Any = "auto",
) -> np.ndarray:
    """Count spikes of every unit in contiguous bins ``[t_start + i*bin, t_start + (i+1)*bin)``.

    Parameters
    ----------
    spike_times : sequence of array-like
        One 1-D array of spike times (seconds) per unit. Entries may be lazy
        array-likes; each is read once, in order. Unsorted units are sorted (a copy).
    t_start, t_stop : float
        Time range in seconds; ``t_stop - t_start`` must be a whole number of bins.
        Both are rounded to the nearest clock tick.
    bin_size : float, default 0.01
        Bin width in seconds; must be a whole number of clock ticks.
    time_resolution : float, optional
        Clock tick of the spike times in seconds (e.g. ``1 / 30000``); 1 ns if unknown.
    dtype : "auto" or numpy dtype, default "auto"
        ``"auto"`` picks the smallest of uint8, uint16, uint32 that holds the largest
        count. An explicit integer dtype too small for a count raises ``ValueError``.

    Returns
    -------
    numpy.ndarray of shape (n_units, n_bins)
        Spike counts. Spikes outside ``[t_start, t_stop)`` are ignored.

    Notes
    -----
    Times become integer ticks ``np.rint(t / res)``; a spike at tick ``k`` goes to bin
    ``(k - start_tick) // bin_ticks``. A spike exactly on an edge therefore always lands
    in the bin starting at that edge. Work and memory per unit are proportional to its
    number of spikes (the output is filled by run lengths of the sorted bin indices),
    plus the output itself (one byte per bin when every count is below 256).

    Examples
    --------
    >>> import numpy as np
    >>> bin_spikes([np.array([0.0, 0.03, 0.031, 0.0999]), np.array([0.05])],
    ...            t_start=0.0, t_stop=0.1, bin_size=0.01)
    array([[1, 0, 0, 2, 0, 0, 0, 0, 0, 1],
           [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]], dtype=uint8)
    """
    res = _resolution(time_resolution)
    bin_size = _check_bin_size(bin_size)
    bin_ticks = _whole_ticks(bin_size, res, "bin_size")
    start_tick, stop_tick = _tick(t_start, res, "t_start"), _tick(t_stop, res, "t_stop")
    if stop_tick <= start_tick:
        raise ValueError(f"t_stop ({t_stop!r}) must be greater than t_start ({t_start!r})")
    span = stop_tick - start_tick
    if span % bin_ticks:
        raise ValueError(
            f"t_stop - t_start = {span * res!r} s is not a whole number of bins of "
            f"{bin_size!r} s; extend t_stop to the next bin edge"
        )
    n_bins = span // bin_ticks
    units = _unit_sequence(spike_times)
    counts = _Counts((len(units), n_bins), _check_dtype(dtype), None)
    for u, times in enumerate(units):
        ticks = _to_ticks(_unit_array(times, u), res, f"spike_times: unit {u}")
        if not _is_sorted(ticks):
            ticks = np.sort(ticks)
        lo, hi = np.searchsorted(ticks, [start_tick, stop_tick])
        if hi == lo:
            continue
        index = (ticks[lo:hi] - start_tick) // bin_ticks
        # Run-length encode the sorted bin indices: O(spikes), not O(bins).
        first = np.flatnonzero(np.concatenate(([True], index[1:] != index[:-1])))
        run = np.diff(np.append(first, index.size))
        counts.make_room(int(run.max()), u)
        counts.array[u, index[first]] = run
    return counts.array


# --------------------------------------------------------------------------- binned form


def _select_binned(
    da: xr.DataArray, start: float, stop: float, bin_size: float, dtype: Any
) -> xr.DataArray:
    """Select ``[start, stop)`` of an already-binned DataArray, re-binning if asked."""
    subject = _binned_subject(da)
    own, first, n_time = _binned_grid(da, subject)
    bin_size = _check_bin_size(bin_size, subject)
    wanted = _check_dtype(dtype, subject)
    factor = _positive_bins(bin_size, own, "bin_size", subject)
    i0 = _grid_index(start, first, own, "start", subject)
    i1 = _grid_index(stop, first, own, "stop", subject)
    if i1 <= i0:
        raise ValueError(f"{_prefix(subject)}stop ({stop!r}) must be greater than start")
    if i0 < 0 or i1 > n_time:
        covered = [float(np.round(first, 9)), float(np.round(first + n_time * own, 9))]
        raise ValueError(
            f"{_prefix(subject)}[start, stop) = [{start!r}, {stop!r}) runs outside the "
            f"binned data, which covers [{covered[0]!r}, {covered[1]!r}) s"
        )
    if (i1 - i0) % factor:
        raise ValueError(
            f"{_prefix(subject)}stop - start = {stop - start!r} s is not a whole number of "
            f"bins of {bin_size!r} s"
        )
    selected = da.transpose(*BINNED_DIMS).isel(time=slice(i0, i1))
    if factor == 1:
        if wanted is not None and selected.dtype != wanted:
            if wanted.kind in "ui":
                peak = selected.max().item() if selected.size else 0
                if peak > np.iinfo(wanted).max:
                    raise ValueError(
                        f"{_prefix(subject)}dtype: {wanted} cannot hold a count of "
                        f"{int(peak)}; use a wider dtype or dtype='auto'"
                    )
            selected = selected.astype(wanted)
        return selected
    values = np.asarray(selected.values)
    n_trials, n_units, n = values.shape
    summed = values.reshape(n_trials, n_units, n // factor, factor).sum(
        axis=-1, dtype=np.float64 if values.dtype.kind == "f" else np.uint64
    )
    peak = summed.max(initial=0)
    if wanted is None:
        wanted = _compact_dtype(int(peak)) if values.dtype.kind in "ui" else values.dtype
    elif wanted.kind in "ui" and peak > np.iinfo(wanted).max:
        raise ValueError(
            f"{_prefix(subject)}dtype: {wanted} cannot hold a count of {int(peak)}; use a "
            "wider dtype or dtype='auto'"
        )
    coords = {name: coord for name, coord in selected.coords.items() if "time" not in coord.dims}
    coords["time"] = selected["time"].values[::factor]
    return xr.DataArray(
        summed.astype(wanted),
        dims=BINNED_DIMS,
        coords=coords,
        attrs={**selected.attrs, "bin_size": bin_size},
        name=selected.name,
    )


# --------------------------------------------------------------------------- bin_trials


def _label_coords(trials: pd.DataFrame, subject: str | None) -> dict[str, Any]:
    coords = {}
    for column in trials.columns:
        if column in BINNED_DIMS:
            raise ValueError(
                f"{_prefix(subject)}trials: column {column!r} has the name of a dimension; "
                "rename it"
            )
        coords[str(column)] = ("trial", trials[column].to_numpy())
    return coords


def bin_trials(
    data: Recording | xr.DataArray,
    *,
    start: float,
    stop: float,
    bin_size: float = 0.01,
    dtype: Any = "auto",
) -> xr.DataArray:
    """Bin every trial of a recording on a grid aligned to the trial's onset.

    Parameters
    ----------
    data : Recording or xarray.DataArray
        A recording (spike times plus trials), or data already in the binned form
        (from :func:`~neuromix.data.from_xarray` or
        :func:`~neuromix.load_published`), from which ``[start, stop)`` is
        selected.
    start, stop : float
        Time range in seconds relative to each trial's onset (``start_time``): bins
        cover ``[onset + start, onset + stop)``. ``stop - start`` must be a whole number
        of bins. ``start`` may be negative (a pre-onset baseline) as long as
        ``onset + start >= 0``; ``stop`` must not run past the trial's end
        (``stop <= stop_time - start_time``), where the next trial may begin.
    bin_size : float, default 0.01
        Bin width in seconds. For binned input, a whole multiple of its bin width:
        bins are then summed (re-binned by that integer factor).
    dtype : "auto" or numpy dtype, default "auto"
        Type of the counts, as in :func:`bin_spikes`.

    Returns
    -------
    xarray.DataArray
        Counts with dims ``("trial", "unit", "time")``; coords ``trial`` (trial ids),
        ``unit`` (unit ids), ``time`` (bin start relative to onset, s) and one coord
        along ``trial`` per column of the trial table (``start_time``, ``stop_time``,
        ``odor``, ...); attrs ``subject``, ``bin_size`` and ``time_resolution`` (None
        when unknown). For binned input without re-binning, a view of the input.

    Raises
    ------
    ValueError
        Naming the subject and the offending trial ids when ``[start, stop)`` runs past
        the end of a trial or before time 0, or when a unit is not sorted.

    Notes
    -----
    Uses the exactness rule of :func:`bin_spikes`; onsets are rounded to clock ticks.
    Each unit is read once, in order, and binned for all trials at once with one
    ``searchsorted`` of its ticks against every bin edge of every trial.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from neuromix.data import from_arrays
    >>> trials = pd.DataFrame({"start_time": [1.0, 3.0], "stop_time": [2.0, 4.0],
    ...                        "odor": ["A", "B"]})
    >>> rec = from_arrays([np.array([1.0, 1.015, 3.02, 3.029])], trials, subject="R1")
    >>> counts = bin_trials(rec, start=0.0, stop=0.03)
    >>> counts.values[:, 0, :]
    array([[1, 1, 0],
           [0, 0, 2]], dtype=uint8)
    >>> counts.sel(time=0.02).groupby("odor").sum().values.ravel().tolist()
    [0, 2]
    """
    if isinstance(data, xr.DataArray):
        return _select_binned(data, start, stop, bin_size, dtype)
    if not isinstance(data, Recording):
        raise TypeError(
            f"bin_trials: expected a Recording or a binned xarray.DataArray, "
            f"got {type(data).__name__}"
        )
    subject = data.subject
    pre = _prefix(subject)
    res = _resolution(data.time_resolution, subject)
    bin_size = _check_bin_size(bin_size, subject)
    wanted = _check_dtype(dtype, subject)
    bin_ticks = _whole_ticks(bin_size, res, "bin_size", subject)
    start_tick, stop_tick = _tick(start, res, "start", subject), _tick(stop, res, "stop", subject)
    if stop_tick <= start_tick:
        raise ValueError(f"{pre}stop ({stop!r}) must be greater than start ({start!r})")
    if (stop_tick - start_tick) % bin_ticks:
        raise ValueError(
            f"{pre}stop - start = {stop - start!r} s is not a whole number of bins of "
            f"{bin_size!r} s"
        )
    n_bins = (stop_tick - start_tick) // bin_ticks

    trials = data.trials
    missing = [c for c in ("start_time", "stop_time") if c not in trials.columns]
    if missing:
        raise ValueError(f"{pre}trials: missing column(s) {missing}")
    onsets, ends = (
        _to_ticks(_time_column(trials, c, subject), res, f"{pre}trials: {c}")
        for c in ("start_time", "stop_time")
    )
    past = onsets + stop_tick > ends
    if past.any():
        raise ValueError(
            f"{pre}[start, stop) = [{start!r}, {stop!r}) s runs past the end of trials "
            f"{_trial_ids(trials, past)} (stop must be <= stop_time - start_time)"
        )
    before = onsets + start_tick < 0
    if before.any():
        raise ValueError(
            f"{pre}[start, stop) = [{start!r}, {stop!r}) s starts before time 0 in trials "
            f"{_trial_ids(trials, before)}"
        )
    coords = _label_coords(trials, subject)

    units = _unit_sequence(data.spike_times, subject)
    # Beside the counts: the edges, and one unit's positions and differences (int64).
    temporaries = 3 * 8 * len(trials) * (n_bins + 1)
    counts = _Counts((len(trials), len(units), n_bins), wanted, subject, temporaries)
    # (n_trials, n_bins + 1) edge ticks; the counts of a unit are the differences of
    # the positions of these edges in its sorted ticks.
    edges = onsets[:, None] + start_tick + np.arange(n_bins + 1, dtype=np.int64) * bin_ticks
    flat_edges = edges.ravel()
    for u, times in enumerate(units):
        ticks = _to_ticks(_unit_array(times, u, subject), res, f"{pre}spike_times: unit {u}")
        if not _is_sorted(ticks):
            raise ValueError(f"{pre}spike_times: unit {u} is not sorted")
        unit_counts = np.diff(np.searchsorted(ticks, flat_edges).reshape(edges.shape), axis=1)
        counts.make_room(int(unit_counts.max(initial=0)), u)
        counts.array[:, u, :] = unit_counts

    bin_starts = _round_coord((start_tick + np.arange(n_bins) * bin_ticks) * res)
    return xr.DataArray(
        counts.array,
        dims=BINNED_DIMS,
        coords={
            "trial": trials.index.to_numpy(),
            "unit": np.asarray(data.unit_ids),
            "time": bin_starts,
            **coords,
        },
        attrs={
            "subject": subject,
            "bin_size": bin_size,
            "time_resolution": data.time_resolution,
        },
        name="counts",
    )
