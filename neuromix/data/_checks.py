"""Checks of what users pass to the data path: seconds, spike times, trial times, dtypes.

Every message starts with the subject it concerns (:func:`_prefix`) and names the
field at fault; strings and booleans are refused rather than converted.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__: list[str] = []


def _prefix(subject: str | None) -> str:
    return f"subject {subject!r}: " if subject is not None else ""


def _seconds(
    value: Any,
    name: str,
    subject: str | None,
    expected: str = "a number of seconds",
    *,
    positive: bool = False,
) -> float:
    """``value`` as a finite float, positive with ``positive``; TypeError (not a number)
    or ValueError naming ``name``.

    Strings and booleans are refused even though ``float()`` takes them: ``"0.5"`` is
    almost always a column read as text.
    """
    if isinstance(value, str | bytes | bool | np.bool_):
        raise TypeError(f"{_prefix(subject)}{name}: expected {expected}, got {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{_prefix(subject)}{name}: expected {expected}, got {value!r}") from None
    if positive and not (np.isfinite(seconds) and seconds > 0):
        raise ValueError(
            f"{_prefix(subject)}{name}: must be a positive number of seconds, got {value!r}"
        )
    if not np.isfinite(seconds):
        raise ValueError(f"{_prefix(subject)}{name}: must be a finite number, got {value!r}")
    return seconds


def _check_bin_size(bin_size: Any, subject: str | None = None) -> float:
    return _seconds(bin_size, "bin_size", subject, positive=True)


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


def _trial_ids(trials: pd.DataFrame, mask: np.ndarray, limit: int = 5) -> str:
    ids = trials.index[mask].tolist()
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"{ids[:limit]}{more}"


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
