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
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neuromix._validation import check_memory
from neuromix.data.recording import Recording

__all__ = ["bin_spikes", "bin_trials"]

#: Tick used when the recording's clock resolution is unknown (1 ns).
DEFAULT_RESOLUTION = 1e-9

#: Dims of the binned form, in order.
BINNED_DIMS = ("trial", "unit", "time")

#: Largest number of clock ticks a time may have: the sum of two such tick counts (an
#: onset and a range relative to it) still fits in int64. With the default 1 ns tick
#: that is 73 years.
MAX_TICKS = 2**61

# Coordinates are rounded to this many decimals so that ``sel(time=0.25)`` works even
# when a bin start was computed as ticks * resolution (0.25000000000000006).
_COORD_DECIMALS = 12


# --------------------------------------------------------------------------- helpers


def _prefix(subject: str | None) -> str:
    return f"subject {subject!r}: " if subject is not None else ""


def _seconds(
    value: Any, name: str, subject: str | None, expected: str = "a number of seconds"
) -> float:
    """``value`` as a finite float; TypeError (not a number) or ValueError naming ``name``.

    Strings and booleans are refused even though ``float()`` takes them: ``"0.5"`` is
    almost always a column read as text.
    """
    if isinstance(value, str | bytes | bool | np.bool_):
        raise TypeError(f"{_prefix(subject)}{name}: expected {expected}, got {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{_prefix(subject)}{name}: expected {expected}, got {value!r}") from None
    if not np.isfinite(seconds):
        raise ValueError(f"{_prefix(subject)}{name}: must be a finite number, got {value!r}")
    return seconds


def _positive_seconds(
    value: Any, name: str, subject: str | None, expected: str = "a number of seconds"
) -> float:
    """``value`` as a positive, finite float; TypeError or ValueError naming ``name``."""
    if isinstance(value, str | bytes | bool | np.bool_):
        raise TypeError(f"{_prefix(subject)}{name}: expected {expected}, got {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{_prefix(subject)}{name}: expected {expected}, got {value!r}") from None
    if not np.isfinite(seconds) or seconds <= 0:
        raise ValueError(
            f"{_prefix(subject)}{name}: must be a positive number of seconds, got {value!r}"
        )
    return seconds


def _resolution(time_resolution: float | None, subject: str | None = None) -> float:
    if time_resolution is None:
        return DEFAULT_RESOLUTION
    return _positive_seconds(
        time_resolution, "time_resolution", subject, "a number of seconds or None"
    )


def _tick(t: Any, res: float, name: str = "time", subject: str | None = None) -> int:
    """Nearest clock tick of one time (the rounding rule of the module), checked."""
    seconds = _seconds(t, name, subject)
    if abs(seconds) > MAX_TICKS * res:
        raise ValueError(
            f"{_prefix(subject)}{name}: {t!r} s is too large to count in clock ticks of "
            f"{res!r} s (at most {MAX_TICKS * res:.3g} s)"
        )
    return int(np.rint(seconds / res))


def _whole_ticks(value: float, res: float, name: str, subject: str | None = None) -> int:
    """``value / res`` as an int, or an error when it is not a whole number of ticks."""
    ratio = float(value) / res
    n = int(np.rint(ratio))
    # Relative tolerance: 0.01 / (1 / 30000) is 300.00000000000006, not 300.
    if abs(ratio - n) > max(1e-6, 1e-9 * abs(n)):
        raise ValueError(
            f"{_prefix(subject)}{name}: {value!r} s is not a whole number of clock ticks "
            f"of {res!r} s"
        )
    return n


def _positive_bins(value: float, bin_size: float, name: str, subject: str | None = None) -> int:
    """``value / bin_size`` as a positive int, or an error naming ``name``."""
    ratio = float(value) / float(bin_size)
    n = int(np.rint(ratio))
    if abs(ratio - n) > 1e-6 * max(1, abs(n)):
        raise ValueError(
            f"{_prefix(subject)}{name}: {value!r} s is not a multiple of the bin size "
            f"({bin_size!r} s)"
        )
    if n <= 0:
        raise ValueError(f"{_prefix(subject)}{name}: must be positive, got {value!r} s")
    return n


def _check_bin_size(bin_size: Any, subject: str | None = None) -> float:
    return _positive_seconds(bin_size, "bin_size", subject)


def _round_coord(values: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(values, dtype=np.float64), _COORD_DECIMALS)


def _compact_dtype(max_count: int) -> np.dtype:
    """Smallest unsigned integer dtype holding ``max_count``."""
    for candidate in (np.uint8, np.uint16, np.uint32):
        if max_count <= np.iinfo(candidate).max:
            return np.dtype(candidate)
    return np.dtype(np.uint64)


def _check_dtype(dtype: Any, subject: str | None = None) -> np.dtype | None:
    """``None`` for ``"auto"``, else a numeric numpy dtype."""
    if isinstance(dtype, str) and dtype == "auto":
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{_prefix(subject)}dtype: expected 'auto' or a numeric dtype, got {dtype!r}"
        ) from None
    if resolved.kind not in "uif":
        raise TypeError(
            f"{_prefix(subject)}dtype: expected 'auto' or an integer or float dtype, "
            f"got {resolved}"
        )
    return resolved


class _Counts:
    """An output array of counts that widens itself when ``dtype="auto"``.

    Starts as uint8 (one byte per bin); when a unit needs more, the array is copied
    once into the next wider type. With an explicit dtype, a count that does not fit is
    an error rather than a silent wrap-around.
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        dtype: np.dtype | None,
        subject: str | None,
        extra_bytes: int = 0,
    ):
        self.fixed = dtype
        self.subject = subject
        dtype = np.dtype(dtype if dtype is not None else np.uint8)
        # Checked before allocating: a huge range gives a message, not a killed process.
        # ``extra_bytes``: the temporaries the caller needs beside the counts.
        self.shape = shape
        check_memory(
            _n_values(shape) * dtype.itemsize + extra_bytes,
            f"{_prefix(subject)}counts: {_describe_shape(shape)} in {dtype}",
            "bin a shorter range, use a larger bin_size, or fewer units or trials",
        )
        # np.zeros maps zeroed pages lazily: empty bins cost no work.
        self.array = np.zeros(shape, dtype=dtype)

    def make_room(self, max_count: int, unit: int) -> None:
        dtype = self.array.dtype
        if dtype.kind == "f" or max_count <= np.iinfo(dtype).max:
            return
        if self.fixed is not None:
            raise ValueError(
                f"{_prefix(self.subject)}dtype: {dtype} cannot hold a count of {max_count} "
                f"(unit {unit}); use a wider dtype or dtype='auto'"
            )
        wider = _compact_dtype(max_count)
        check_memory(
            _n_values(self.shape) * wider.itemsize,
            f"{_prefix(self.subject)}counts: unit {unit} has a count of {max_count}, so "
            f"the counts ({_describe_shape(self.shape)}) need {wider} instead of {dtype}, which",
            "bin a shorter range or fewer units or trials",
        )
        self.array = self.array.astype(wider)


def _n_values(shape: tuple[int, ...]) -> int:
    # Python ints: no int64 overflow for absurd shapes.
    n = 1
    for size in shape:
        n *= int(size)
    return n


def _describe_shape(shape: tuple[int, ...]) -> str:
    names = ("unit", "bin") if len(shape) == 2 else ("trial", "unit", "bin")
    return " x ".join(
        f"{int(n)} {name}{'' if n == 1 else 's'}" for n, name in zip(shape, names, strict=True)
    )


def _unit_sequence(spike_times: Any, subject: str | None = None) -> Sequence[Any]:
    """Check that ``spike_times`` is one entry per unit (not one flat array of times)."""
    if (
        isinstance(spike_times, (str, bytes, Mapping))
        or not hasattr(spike_times, "__len__")
        or not hasattr(spike_times, "__getitem__")
    ):
        raise TypeError(
            f"{_prefix(subject)}spike_times: expected a sequence with one array of spike "
            f"times per unit, got {type(spike_times).__name__}"
        )
    if isinstance(spike_times, np.ndarray) and spike_times.dtype != object:
        if spike_times.ndim == 1:
            raise TypeError(
                f"{_prefix(subject)}spike_times: expected one array per unit, got a single "
                "1-D array of numbers; wrap it in a list for one unit"
            )
        if spike_times.ndim != 2:
            raise TypeError(
                f"{_prefix(subject)}spike_times: expected a sequence of 1-D arrays, got an "
                f"array of shape {spike_times.shape}"
            )
    return spike_times


def _first_non_number(values: np.ndarray) -> tuple[int, Any] | None:
    """Position and value of the first element of an object array that is not a real
    number (bools, strings, None... are not), or None."""
    for i, v in enumerate(values):
        if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Real):
            return i, v
    return None


def _unit_array(times: Any, unit: int, subject: str | None = None) -> np.ndarray:
    """One unit's spike times as a finite 1-D float64 array (read once).

    Numbers only: integer and float arrays, or object arrays holding real numbers.
    Strings (even ``"0.5"``), booleans, complex numbers, dates and durations are refused
    rather than converted.
    """
    what = f"{_prefix(subject)}spike_times: unit {unit}"
    try:
        raw = np.asarray(times)
    except (TypeError, ValueError):  # ragged nesting, or an object numpy cannot read
        raise TypeError(f"{what} is not an array of numbers ({type(times).__name__})") from None
    if raw.ndim != 1:
        raise ValueError(
            f"{what} is not a 1-D array of times (shape {raw.shape}); pass one array per unit"
        )
    if raw.dtype.kind == "O":
        bad = _first_non_number(raw)
        if bad is not None:
            raise TypeError(
                f"{what} holds {bad[1]!r} ({type(bad[1]).__name__}) at position {bad[0]}; "
                "spike times must be numbers of seconds"
            )
    elif raw.dtype.kind not in "iuf":
        hint = "; convert durations to seconds" if raw.dtype.kind in "mM" else ""
        raise TypeError(
            f"{what} has dtype {raw.dtype}; spike times must be numbers of seconds "
            f"(an integer or float array){hint}"
        )
    try:
        array = raw.astype(np.float64, copy=False)
    except (TypeError, ValueError, OverflowError):  # e.g. an int beyond float range
        raise ValueError(f"{what} holds a number too large for float64 seconds") from None
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(
            f"{what} has {int(bad.sum())} non-finite spike times (NaN or inf), "
            f"the first at position {int(np.argmax(bad))}"
        )
    return array


def _to_ticks(array: np.ndarray, res: float, what: str = "times") -> np.ndarray:
    """Finite times as int64 clock ticks; ValueError (starting with ``what``) for a time
    too large to count in ticks (it would wrap around in int64)."""
    if array.size:
        low, high = float(array.min()), float(array.max())
        peak = high if abs(high) >= abs(low) else low
        if abs(peak) > MAX_TICKS * res:
            raise ValueError(
                f"{what}: {peak!r} s is too large to count in clock ticks of {res!r} s (at "
                f"most {MAX_TICKS * res:.3g} s); are the times in seconds?"
            )
    return np.rint(array / res).astype(np.int64)


def _time_column(trials: pd.DataFrame, column: str, subject: str | None) -> np.ndarray:
    """A trial table's time column as finite float64 seconds, or an error naming the
    trials at fault. Strings and booleans are refused rather than converted."""
    pre = f"{_prefix(subject)}trials: {column}"
    values = trials[column]
    dtype = values.dtype
    is_object = pd.api.types.is_object_dtype(dtype)
    if pd.api.types.is_bool_dtype(dtype) or not (
        pd.api.types.is_numeric_dtype(dtype) or is_object
    ):
        raise TypeError(f"{pre} must be numbers of seconds, got dtype {dtype}")
    if is_object:
        present = values[values.notna()].to_numpy()
        bad = _first_non_number(present)
        if bad is not None:
            raise TypeError(
                f"{pre} must be numbers of seconds; it holds {bad[1]!r} ({type(bad[1]).__name__})"
            )
    try:
        seconds = values.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{pre} must be numbers of seconds, got dtype {dtype}") from None
    bad = ~np.isfinite(seconds)
    if bad.any():
        raise ValueError(f"{pre} is NaN or inf in trials {_trial_ids(trials, bad)}")
    return seconds


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


def _binned_subject(da: xr.DataArray, subject: str | None = None) -> str | None:
    if subject is not None:
        return subject
    value = da.attrs.get("subject")
    return None if value is None else str(value)


def _binned_grid(da: Any, subject: str | None = None) -> tuple[float, float, int]:
    """Check the layout of a binned DataArray; return (bin_size, first bin start, n bins).

    Only coordinates and attrs are read, never the counts.
    """
    if not isinstance(da, xr.DataArray):
        raise TypeError(
            f"{_prefix(subject)}expected an xarray.DataArray of counts with dims "
            f"{BINNED_DIMS}, got {type(da).__name__}"
        )
    subject = _binned_subject(da, subject)
    if set(da.dims) != set(BINNED_DIMS) or da.ndim != len(BINNED_DIMS):
        raise ValueError(
            f"{_prefix(subject)}dims: expected {BINNED_DIMS} (in any order), got {da.dims}"
        )
    if "time" not in da.coords:
        raise ValueError(
            f"{_prefix(subject)}time: missing coordinate 'time' (bin start relative to "
            "trial onset, in seconds)"
        )
    try:
        if da["time"].dtype.kind not in "iuf":  # text such as "0.01" is refused, not read
            raise TypeError
        time = np.asarray(da["time"].values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{_prefix(subject)}time: coordinate must be numeric seconds, "
            f"got dtype {da['time'].dtype}"
        ) from None
    if time.size == 0:
        raise ValueError(f"{_prefix(subject)}time: no bins")
    if not np.all(np.isfinite(time)):
        raise ValueError(f"{_prefix(subject)}time: coordinate has NaN or inf")
    if "bin_size" in da.attrs:
        bin_size = _check_bin_size(da.attrs["bin_size"], subject)
    elif time.size >= 2:
        bin_size = float(np.round(time[1] - time[0], _COORD_DECIMALS))
        if bin_size <= 0:
            raise ValueError(f"{_prefix(subject)}time: coordinate is not increasing")
    else:
        raise ValueError(
            f"{_prefix(subject)}bin_size: one bin and no attrs['bin_size']; set "
            "attrs['bin_size'] to the bin width in seconds"
        )
    expected = time[0] + np.arange(time.size) * bin_size
    if not np.allclose(time, expected, rtol=0, atol=1e-6 * bin_size):
        raise ValueError(
            f"{_prefix(subject)}time: coordinate is not a regular grid of bins of {bin_size!r} s"
        )
    return bin_size, float(time[0]), int(time.size)


def _grid_index(
    value: float, first: float, bin_size: float, name: str, subject: str | None
) -> int:
    """Index of time ``value`` on a bin grid starting at ``first``, or an error."""
    ratio = (float(value) - first) / bin_size
    index = int(np.rint(ratio))
    if abs(ratio - index) > 1e-6:
        raise ValueError(
            f"{_prefix(subject)}{name}: {value!r} s is not on the time grid of the binned "
            f"data (bins of {bin_size!r} s starting at {first!r} s)"
        )
    return index


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


def _trial_ids(trials: pd.DataFrame, mask: np.ndarray, limit: int = 5) -> str:
    ids = trials.index[mask].tolist()
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"{ids[:limit]}{more}"


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
