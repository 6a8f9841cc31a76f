"""The exactness rule of binning: times as integer clock ticks, widths as whole ticks or bins.

A time ``t`` is the tick ``np.rint(t / res)``, with ``res`` the recording's
``time_resolution`` when known and :data:`DEFAULT_RESOLUTION` otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuromix.data._checks import _prefix, _seconds

__all__: list[str] = []

#: Tick used when the recording's clock resolution is unknown (1 ns).
DEFAULT_RESOLUTION = 1e-9

#: Largest number of clock ticks a time may have: the sum of two such tick counts (an
#: onset and a range relative to it) still fits in int64. With the default 1 ns tick
#: that is 73 years.
MAX_TICKS = 2**61


def _resolution(time_resolution: float | None, subject: str | None = None) -> float:
    if time_resolution is None:
        return DEFAULT_RESOLUTION
    return _seconds(
        time_resolution, "time_resolution", subject, "a number of seconds or None", positive=True
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
