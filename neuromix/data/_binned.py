"""The binned form: its dims, its time coordinate and the checks of its layout.

The binned form is an :class:`xarray.DataArray` of counts with dims ``("trial", "unit",
"time")`` (:data:`BINNED_DIMS`), ``time`` = bin start relative to trial onset in seconds
on a regular grid; the checks here read coordinates and attrs only, never the counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neuromix.data._checks import _check_bin_size, _prefix

__all__: list[str] = []

#: Dims of the binned form, in order.
BINNED_DIMS = ("trial", "unit", "time")

# Coordinates are rounded to this many decimals so that ``sel(time=0.25)`` works even
# when a bin start was computed as ticks * resolution (0.25000000000000006).
_COORD_DECIMALS = 12


def _round_coord(values: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(values, dtype=np.float64), _COORD_DECIMALS)


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
