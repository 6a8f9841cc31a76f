"""Input checks done once, at the boundary, with messages that name the subject and field.

Allowed parameter values are declared as data (like scikit-learn's
``_parameter_constraints``) and checked by :func:`check_params`.
"""

from __future__ import annotations

import inspect
import numbers
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Interval",
    "Options",
    "available_memory",
    "check_batch_size",
    "check_memory",
    "check_params",
    "check_same_counts",
    "check_subject_arrays",
    "format_bytes",
]


@dataclass(frozen=True)
class Interval:
    """A number of ``kind`` (int or float) in [low, high] (``None``: unbounded)."""

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def __call__(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if self.kind is int and not float(value).is_integer():
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or value <= self.high

    def __str__(self) -> str:
        kind = "an integer" if self.kind is int else "a number"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low}")
        if self.high is not None:
            parts.append(f"<= {self.high}")
        return f"{kind} {' and '.join(parts)}".strip()


@dataclass(frozen=True)
class Options:
    """One of a set of values: a fixed tuple, or a callable returning the current set.

    With a callable (e.g. a registry's ``available``), the allowed values are looked up
    each time a value is checked, so names registered after import are accepted.

    Examples
    --------
    >>> names = ["a"]
    >>> allowed = Options(lambda: tuple(names))
    >>> allowed("b")
    False
    >>> names.append("b")
    >>> allowed("b"), str(allowed)
    (True, "one of 'a', 'b'")
    """

    values: tuple | Callable[[], Iterable]

    def current(self) -> tuple:
        """The allowed values now."""
        return tuple(self.values()) if callable(self.values) else tuple(self.values)

    def __call__(self, value: Any) -> bool:
        try:
            return value in self.current()
        except TypeError:
            return False

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.current())


@dataclass(frozen=True)
class Check:
    """Any predicate with a description of what it accepts."""

    predicate: Callable[[Any], bool]
    description: str

    def __call__(self, value: Any) -> bool:
        return bool(self.predicate(value))

    def __str__(self) -> str:
        return self.description


def check_params(params: Mapping[str, Any], constraints: Mapping[str, Any]) -> None:
    """Raise ValueError for the first parameter that meets none of its constraints.

    ``constraints[name]`` is one constraint or a list of alternatives.

    Examples
    --------
    >>> check_params({"beta": -1.0}, {"beta": Interval(float, 0)})
    Traceback (most recent call last):
    ...
    ValueError: beta must be a number >= 0, got -1.0
    """
    for name, constraint in constraints.items():
        alternatives = constraint if isinstance(constraint, list) else [constraint]
        value = params[name]
        if not any(c(value) for c in alternatives):
            allowed = " or ".join(str(c) for c in alternatives)
            raise ValueError(f"{name} must be {allowed}, got {value!r}")


def check_subject_arrays(
    X: Any, *, what: str = "X", paired: bool = True, allow_integer: bool = True
) -> dict[str, np.ndarray]:
    """Validate a mapping subject -> array ``(n_samples, ...)``; return numpy arrays.

    Checks: a non-empty mapping with string keys; numeric arrays with at least one
    sample axis; finite values; equal sample counts when ``paired``. Arrays are not
    copied unless a conversion is needed; the caller's objects are never modified.
    """
    if not isinstance(X, Mapping):
        raise TypeError(
            f"{what} must be a mapping subject -> array of shape (n_samples, ...), "
            f"got {type(X).__name__}"
        )
    if len(X) == 0:
        raise ValueError(f"{what} must hold at least one subject")
    arrays: dict[str, np.ndarray] = {}
    for subject, value in X.items():
        if not isinstance(subject, str):
            raise TypeError(f"{what}: subject names must be strings, got {subject!r}")
        arr = np.asarray(value)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.floating)
            or np.issubdtype(arr.dtype, np.integer)
            or np.issubdtype(arr.dtype, np.bool_)
        ):
            raise TypeError(f"subject {subject!r}: {what} must be numeric, got dtype {arr.dtype}")
        if arr.ndim < 2:
            raise ValueError(
                f"subject {subject!r}: {what} must have shape (n_samples, n_features, ...), "
                f"got shape {arr.shape}"
            )
        if arr.shape[0] == 0:
            raise ValueError(f"subject {subject!r}: {what} has no samples")
        if np.issubdtype(arr.dtype, np.floating):
            bad = ~np.isfinite(arr)
            if bad.any():
                where = np.argwhere(bad)[0]
                kind = "NaN" if np.isnan(arr[tuple(where)]) else "infinite values"
                raise ValueError(
                    f"subject {subject!r}: {what} contains {kind} "
                    f"(first at sample {where[0]}, feature {tuple(where[1:])})"
                )
        arrays[subject] = arr
    if paired:
        check_same_counts(
            {s: a.shape[0] for s, a in arrays.items()},
            f"{what}: sample counts differ between subjects",
            "rows must be paired samples",
        )
    return arrays


def check_same_counts(counts: Mapping[str, int], problem: str, remedy: str) -> None:
    """Raise ValueError ``"<problem> (<subject>: <count>, ...); <remedy>"`` unless every
    subject has the same count.

    Examples
    --------
    >>> check_same_counts({"a": 3, "b": 4}, "X: counts differ", "pair the rows")
    Traceback (most recent call last):
    ...
    ValueError: X: counts differ ('a': 3, 'b': 4); pair the rows
    """
    if len(set(counts.values())) > 1:
        listing = ", ".join(f"{s!r}: {n}" for s, n in counts.items())
        raise ValueError(f"{problem} ({listing}); {remedy}")


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now, or None when unknown.

    ``psutil.virtual_memory().available`` when psutil is installed, else the free
    physical pages reported by ``os.sysconf`` (Linux, macOS), else None (no check).
    """
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            return int(psutil.virtual_memory().available)
        except Exception:  # pragma: no cover - exotic platforms
            pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - e.g. Windows
        return None


def format_bytes(n: float) -> str:
    """``n`` bytes in readable units (``"1.5 GB"``; powers of 1000).

    >>> format_bytes(999), format_bytes(1_500_000_000), format_bytes(3.2e15)
    ('999 bytes', '1.5 GB', '3200 TB')
    """
    if n < 1000:
        return f"{int(n)} bytes"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if n < 1000:
            return f"{n:.3g} {unit}"
    return f"{n / 1000:.4g} TB"


def check_memory(nbytes: float, what: str, advice: str = "") -> None:
    """Raise MemoryError, before allocating, when ``what`` needs more than is available.

    ``what`` names the subject, the field and the shape (it starts the message);
    ``advice`` says how to need less. The limit is :func:`available_memory`, looked up
    at each call (tests replace it with a tiny one).

    >>> check_memory(10, "counts of 1 unit x 10 bins")  # fits
    >>> check_memory(1e30, "subject 'R1': counts of 1 unit x 1e30 bins")
    Traceback (most recent call last):
    ...
    MemoryError: subject 'R1': counts of 1 unit x 1e30 bins would need 1e+18 TB, ...
    """
    limit = available_memory()
    if limit is None or nbytes <= limit:
        return
    message = (
        f"{what} would need {format_bytes(nbytes)}, more than the {format_bytes(limit)} "
        "of memory available"
    )
    raise MemoryError(f"{message}; {advice}" if advice else message)


def external_stacklevel() -> int:
    """``stacklevel`` for :func:`warnings.warn` that points at the first frame outside
    neuromix: the user's call, whichever public function it went through."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame = inspect.currentframe()
    level = 0
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back
        level += 1
    return level


def check_batch_size(batch_size: int, n_samples: int) -> None:
    """Warn, naming both numbers, when a batch is larger than the training data.

    Training then takes one batch of all ``n_samples`` per epoch, i.e. one optimiser
    step per epoch: not wrong, but rarely what was meant (100 epochs are 100 steps).
    A warning rather than an error, as in scikit-learn's MLP: the fit is well defined.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     check_batch_size(128, 60)
    >>> print(caught[0].message)
    batch_size=128 is larger than the 60 training samples: each epoch is one batch of
    60 samples (one optimiser step per epoch); pass batch_size <= 60 for more steps per epoch
    """
    if n_samples > 0 and batch_size > n_samples:
        warnings.warn(
            f"batch_size={batch_size} is larger than the {n_samples} training samples: each "
            f"epoch is one batch of {n_samples} samples (one optimiser step per epoch); pass "
            f"batch_size <= {n_samples} for more steps per epoch",
            UserWarning,
            stacklevel=external_stacklevel(),
        )
