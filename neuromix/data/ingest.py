"""Ingest one subject's data from plain arrays or from an already-binned DataArray.

Every check runs here, at the boundary, and every message starts with
``subject '<name>': <field>:`` so that a problem in one rat out of five is found at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neuromix.data._binned import BINNED_DIMS, _binned_grid, _binned_subject, _round_coord
from neuromix.data._checks import (
    _prefix,
    _time_column,
    _trial_ids,
    _unit_array,
    _unit_sequence,
)
from neuromix.data._counts import _compact_dtype
from neuromix.data._ticks import _resolution, _to_ticks
from neuromix.data.recording import Recording

__all__ = ["collect_recordings", "from_arrays", "from_xarray"]


def _check_subject(subject: Any) -> str:
    if not isinstance(subject, str) or not subject:
        raise TypeError(f"subject: expected a non-empty string, got {subject!r}")
    return subject


def _check_trials(trials: Any, subject: str, time_resolution: float | None = None) -> pd.DataFrame:
    """Validate a trial table and return a copy with float times, index named ``trial``.

    Times are compared in clock ticks of ``time_resolution`` (1 ns when None), the
    rounding rule of binning: trials must have ``stop_time > start_time`` and must not
    overlap (``[start_time, stop_time)`` intervals may touch), else a spike would be
    counted in two trials and a train/test split by trial would leak.
    """
    pre = _prefix(subject)
    if not isinstance(trials, pd.DataFrame):
        raise TypeError(
            f"{pre}trials: expected a pandas.DataFrame with start_time and stop_time "
            f"columns, got {type(trials).__name__}"
        )
    if len(trials) == 0:
        raise ValueError(f"{pre}trials: no trials")
    missing = [c for c in ("start_time", "stop_time") if c not in trials.columns]
    if missing:
        raise ValueError(f"{pre}trials: missing column(s) {missing}")
    reserved = [c for c in trials.columns if c in BINNED_DIMS]
    if reserved:
        raise ValueError(
            f"{pre}trials: column(s) {reserved} have the name of a dimension of the binned "
            "data; rename them"
        )
    if trials.index.has_duplicates:
        dup = trials.index[trials.index.duplicated()].unique().tolist()
        raise ValueError(f"{pre}trials: duplicated trial ids {dup[:5]}")
    table = trials.copy(deep=True)
    for column in ("start_time", "stop_time"):
        table[column] = _time_column(table, column, subject)
    start = table["start_time"].to_numpy()
    stop = table["stop_time"].to_numpy()
    negative = start < 0
    if negative.any():
        raise ValueError(
            f"{pre}trials: start_time is negative in trials {_trial_ids(table, negative)}"
        )
    res = _resolution(time_resolution, subject)
    start_ticks = _to_ticks(start, res, f"{pre}trials: start_time")
    stop_ticks = _to_ticks(stop, res, f"{pre}trials: stop_time")
    reversed_ = stop_ticks < start_ticks
    if reversed_.any():
        raise ValueError(
            f"{pre}trials: stop_time < start_time in trials {_trial_ids(table, reversed_)}"
        )
    empty = stop_ticks == start_ticks
    if empty.any():
        why = (
            "stop_time == start_time"
            if np.all(stop[empty] == start[empty])
            else f"shorter than one clock tick of {res!r} s"
        )
        raise ValueError(f"{pre}trials: zero-length trials {_trial_ids(table, empty)} ({why})")
    _check_overlaps(table, start_ticks, stop_ticks, pre)
    table.index.name = "trial"
    return table


def _check_overlaps(
    table: pd.DataFrame, start_ticks: np.ndarray, stop_ticks: np.ndarray, pre: str
) -> None:
    """ValueError naming the first two trials (in time order) that overlap."""
    order = np.lexsort((stop_ticks, start_ticks))
    starts, stops = start_ticks[order], stop_ticks[order]
    # Trial i overlaps an earlier one when it starts before the latest earlier stop.
    latest = np.maximum.accumulate(stops)
    clash = np.flatnonzero(starts[1:] < latest[:-1])
    if clash.size == 0:
        return
    i = int(clash[0]) + 1
    j = int(np.argmax(stops[:i] == latest[i - 1]))
    first, second = table.iloc[order[j]], table.iloc[order[i]]
    ids = [table.index[order[k]] for k in (j, i)]
    ids = [v.item() if isinstance(v, np.generic) else v for v in ids]
    spans = [
        f"[{float(row['start_time'])!r}, {float(row['stop_time'])!r})" for row in (first, second)
    ]
    if spans[0] == spans[1]:
        raise ValueError(
            f"{pre}trials: trials {ids[0]!r} and {ids[1]!r} are duplicates (both {spans[0]})"
        )
    raise ValueError(
        f"{pre}trials: trials {ids[0]!r} {spans[0]} and {ids[1]!r} {spans[1]} overlap; "
        "trials must not overlap, or a spike would count in both"
    )


def _check_unit_ids(unit_ids: Any, n_units: int, subject: str) -> np.ndarray:
    pre = _prefix(subject)
    if unit_ids is None:
        return np.arange(n_units)
    ids = np.asarray(unit_ids)
    if ids.ndim != 1 or len(ids) != n_units:
        raise ValueError(
            f"{pre}unit_ids: {ids.size} ids for {n_units} units; give one id per unit"
        )
    values, counts = np.unique(ids, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(f"{pre}unit_ids: duplicated ids {values[counts > 1][:5].tolist()}")
    return ids.copy()


def from_arrays(
    spike_times: Sequence[Any],
    trials: pd.DataFrame,
    *,
    subject: str,
    unit_ids: Sequence[Any] | None = None,
    time_resolution: float | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Recording:
    """Build a validated :class:`~neuromix.data.recording.Recording` from plain arrays.

    Parameters
    ----------
    spike_times : sequence of array-like
        One 1-D array of spike times in seconds per unit: sorted, finite and
        non-negative.
    trials : pandas.DataFrame
        One row per trial with ``start_time`` (trial onset, e.g. odor onset) and
        ``stop_time`` in seconds, ``stop_time > start_time``, and any label columns
        (``odor``, ``correct``, ...). The index holds the trial ids (unique).
    subject : str
        Subject identifier; every error message starts with ``subject '<subject>':``.
    unit_ids : sequence, optional
        One unique id per unit; ``0 .. n_units - 1`` by default.
    time_resolution : float, optional
        Clock tick of the spike times in seconds (e.g. ``1 / 30000``).
    metadata : mapping, optional
        Free-form information kept in ``Recording.metadata`` (a shallow copy).

    Returns
    -------
    Recording
        With read-only float64 copies of the spike arrays and a copy of the trial
        table (index named ``trial``, times as float64). The caller's objects are never
        modified.

    Raises
    ------
    TypeError, ValueError
        At once, with a message naming the subject and the field: no units or no spikes
        at all; spike times that are not numbers (strings, booleans, ``None``...),
        unsorted, negative, non-finite, or too large for the clock; no trials, missing
        or non-numeric ``start_time`` / ``stop_time``, ``stop_time < start_time``,
        zero-length, duplicated or overlapping trials; no spike inside any trial;
        ``unit_ids`` of the wrong length or with duplicates.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> trials = pd.DataFrame({"start_time": [0.0, 2.0], "stop_time": [1.0, 3.0],
    ...                        "odor": ["A", "B"]})
    >>> rec = from_arrays([np.array([0.1, 0.5]), np.array([2.2])], trials, subject="R1")
    >>> rec
    Recording(subject='R1', n_units=2, n_trials=2, labels=['odor'])
    >>> from_arrays([np.array([0.5, 0.1])], trials, subject="R1")
    Traceback (most recent call last):
    ...
    ValueError: subject 'R1': spike_times: unit 0 is not sorted (0.1 at position 1 follows 0.5)
    """
    subject = _check_subject(subject)
    pre = _prefix(subject)
    resolution = None if time_resolution is None else _resolution(time_resolution, subject)
    res = _resolution(resolution, subject)
    units = _unit_sequence(spike_times, subject)
    if len(units) == 0:
        raise ValueError(f"{pre}spike_times: no units")
    arrays = []
    for u, times in enumerate(units):
        array = np.array(_unit_array(times, u, subject), dtype=np.float64, copy=True)
        if np.any(array < 0):
            raise ValueError(
                f"{pre}spike_times: unit {u} has negative spike times (min {array.min()!r})"
            )
        if np.any(array[1:] < array[:-1]):
            first = int(np.argmax(array[1:] < array[:-1])) + 1
            raise ValueError(
                f"{pre}spike_times: unit {u} is not sorted ({float(array[first])!r} at "
                f"position {first} follows {float(array[first - 1])!r})"
            )
        # Here, not first at binning: a time beyond the clock's range is a unit error.
        _to_ticks(array[-1:], res, f"{pre}spike_times: unit {u}")
        array.flags.writeable = False
        arrays.append(array)
    if sum(a.size for a in arrays) == 0:
        raise ValueError(f"{pre}spike_times: no spikes in any unit")
    ids = _check_unit_ids(unit_ids, len(arrays), subject)
    table = _check_trials(trials, subject, resolution)

    # Spikes in each trial [start_time, stop_time), summed over units: a recording whose
    # spikes all fall between trials is almost always a units/seconds mix-up. Counted in
    # clock ticks, the rounding rule of binning, so that "inside" means what binning does.
    start = _to_ticks(table["start_time"].to_numpy(), res)
    stop = _to_ticks(table["stop_time"].to_numpy(), res)
    inside = sum(
        int(np.sum(np.searchsorted(ticks, stop) - np.searchsorted(ticks, start)))
        for ticks in (_to_ticks(a, res) for a in arrays)
    )
    if inside == 0:
        raise ValueError(
            f"{pre}spike_times: spikes outside every trial (no spike lies in any "
            "[start_time, stop_time)); check that spike times and trial times use the same "
            "clock and unit (seconds)"
        )
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(f"{pre}metadata: expected a mapping, got {type(metadata).__name__}")
    return Recording(
        subject=subject,
        spike_times=tuple(arrays),
        unit_ids=ids,
        trials=table,
        time_resolution=resolution,
        metadata=dict(metadata or {}),
    )


def from_xarray(counts: xr.DataArray, *, subject: str | None = None) -> xr.DataArray:
    """Validate already-binned counts and return them in the binned form of neuromix.

    Parameters
    ----------
    counts : xarray.DataArray
        Spike counts with dims ``("trial", "unit", "time")`` in any order; ``time``
        coord = bin start relative to trial onset in seconds, on a regular grid;
        ``attrs["bin_size"]`` (inferred from the grid when absent and there are at
        least two bins); optional label coords along ``trial`` (``odor``, ...).
        Values must be non-negative, finite and whole numbers.
    subject : str, optional
        Subject identifier; taken from ``counts.attrs["subject"]`` when not given.
        One of the two is required, and they must agree.

    Returns
    -------
    xarray.DataArray
        A new DataArray (the counts are copied) in the order ``("trial", "unit",
        "time")``, counts in the smallest unsigned integer dtype that holds them,
        ``trial`` and ``unit`` coords (``0 .. n - 1`` when absent), time coords
        rounded to 12 decimals, attrs ``subject``, ``bin_size`` and
        ``time_resolution`` (None when absent), exactly as :func:`bin_trials` returns.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.array([[[0, 2, 1]], [[1, 0, 0]]]), dims=("trial", "unit", "time"),
    ...                   coords={"time": [0.0, 0.01, 0.02], "odor": ("trial", ["A", "B"])})
    >>> binned = from_xarray(da, subject="R1")
    >>> binned.dtype, binned.attrs["bin_size"], binned.sizes["trial"]
    (dtype('uint8'), 0.01, 2)
    """
    if subject is not None:
        _check_subject(subject)
    if isinstance(counts, xr.DataArray):
        own = counts.attrs.get("subject")
        if subject is not None and own is not None and str(own) != subject:
            raise ValueError(f"{_prefix(subject)}subject: differs from attrs['subject'] ({own!r})")
        subject = _binned_subject(counts, subject)
    if subject is None:
        raise ValueError(
            "subject: not given and counts.attrs has no 'subject'; pass subject='<name>'"
        )
    pre = _prefix(subject)
    bin_size, _, _ = _binned_grid(counts, subject)
    ordered = counts.transpose(*BINNED_DIMS)
    values = np.asarray(ordered.values)
    if values.dtype.kind not in "uifb":
        raise TypeError(f"{pre}counts: expected numbers, got dtype {values.dtype}")
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{pre}counts: has NaN or inf values")
        if np.any(values != np.rint(values)):
            raise ValueError(
                f"{pre}counts: values are not whole numbers of spikes; round them or load "
                "the published layout with load_published"
            )
    if values.size and values.min() < 0:
        raise ValueError(f"{pre}counts: has negative values")
    peak = int(values.max()) if values.size else 0
    data = values.astype(_compact_dtype(peak), copy=True)

    coords = {}
    for dim in ("trial", "unit"):
        if dim in ordered.coords:
            index = ordered[dim].to_index()
            if index.has_duplicates:
                dup = index[index.duplicated()].unique().tolist()[:5]
                raise ValueError(f"{pre}{dim}: duplicated ids {dup}")
            coords[dim] = ordered[dim].values.copy()
        else:
            coords[dim] = np.arange(ordered.sizes[dim])
    coords["time"] = _round_coord(ordered["time"].values)
    for name, coord in ordered.coords.items():
        if name not in coords:
            coords[name] = (coord.dims, coord.values.copy())
    attrs = dict(ordered.attrs)
    attrs.update(
        subject=subject,
        bin_size=bin_size,
        time_resolution=attrs.get("time_resolution"),
    )
    return xr.DataArray(
        data,
        dims=BINNED_DIMS,
        coords=coords,
        attrs=attrs,
        name=ordered.name if ordered.name is not None else "counts",
    )


def _node_counts(name: str, node) -> xr.DataArray:
    ds = node.to_dataset()
    if "counts" in ds.data_vars:
        return ds["counts"]
    if len(ds.data_vars) == 1:
        return next(iter(ds.data_vars.values()))
    raise ValueError(
        f"subject {name!r}: the DataTree node must hold one data variable of binned counts "
        f"(or one named 'counts'); found {list(ds.data_vars)}"
    )


def collect_recordings(recordings, *, subject_dim: str = "subject") -> dict:
    """Mapping subject -> Recording or binned counts, from every input the API accepts.

    Parameters
    ----------
    recordings : mapping, xarray.DataTree or xarray.DataArray
        A mapping subject -> :class:`~neuromix.data.Recording` or binned counts
        ``(trial, unit, time)``; a DataTree with one node per subject holding such
        counts (one data variable, or one named ``counts``); or one DataArray with a
        ``subject_dim`` dimension.
    subject_dim : str, default="subject"
        Name of the subject dimension of a stacked DataArray (and the one a DataTree's
        ``attrs["subject_dim"]`` must match).

    Returns
    -------
    dict of str to Recording or xarray.DataArray
        Binned counts are checked with :func:`from_xarray`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> counts = xr.DataArray(
    ...     np.zeros((2, 2, 3, 4), dtype="uint8"), dims=("rat", "trial", "unit", "time"),
    ...     coords={"rat": ["R1", "R2"], "trial": [0, 1], "unit": [0, 1, 2],
    ...             "time": np.arange(4) * 0.01, "odor": ("trial", ["A", "B"])},
    ...     attrs={"bin_size": 0.01})
    >>> sorted(collect_recordings(counts, subject_dim="rat"))
    ['R1', 'R2']
    """
    dim = subject_dim
    if isinstance(recordings, xr.DataArray):
        if dim not in recordings.dims:
            raise ValueError(
                f"subject_dim {dim!r} is not a dimension of the input (dims: "
                f"{recordings.dims}); pass subject_dim= one of them"
            )
        recordings = {
            str(s): recordings.sel({dim: s}).dropna("unit", how="all").dropna("trial", how="all")
            for s in recordings[dim].values
        }
    elif isinstance(recordings, xr.DataTree):
        tree_dim = recordings.attrs.get("subject_dim")
        if tree_dim is not None and tree_dim != dim:
            raise ValueError(
                f"subject_dim {dim!r} does not match the input, whose subjects are "
                f"{tree_dim!r}; pass subject_dim={tree_dim!r}"
            )
        recordings = {name: _node_counts(name, node) for name, node in recordings.children.items()}
    elif isinstance(recordings, Recording):
        raise TypeError(
            "recordings must be a mapping subject -> recording, e.g. "
            f"{{{recordings.subject!r}: recording}}, not a single Recording"
        )
    if not isinstance(recordings, Mapping) or not recordings:
        raise TypeError(
            "recordings must be a non-empty mapping subject -> Recording or binned "
            "xarray.DataArray, an xarray.DataTree with one node per subject, or a "
            f"DataArray with a {dim!r} dimension; got {type(recordings).__name__}"
        )
    out = {}
    for subject, rec in recordings.items():
        subject = str(subject)
        if isinstance(rec, Recording):
            out[subject] = rec
        elif isinstance(rec, xr.DataArray):
            for d in rec.dims:
                if d not in ("trial", "unit", "time"):
                    raise ValueError(
                        f"subject {subject!r}: unexpected dimension {d!r} in binned counts; "
                        f"expected ('trial', 'unit', 'time') — is {d!r} the subject_dim?"
                    )
            out[subject] = from_xarray(rec, subject=subject)
        else:
            raise TypeError(
                f"subject {subject!r}: expected a Recording or a binned xarray.DataArray, "
                f"got {type(rec).__name__}"
            )
    return out
