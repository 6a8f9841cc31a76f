"""Deprecated names kept for one release: one helper for renamed keyword arguments."""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["UNSET", "renamed_keyword"]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Default of a deprecated keyword: tells "not given" from any value a user may pass."""


def renamed_keyword(
    owner: str, old: str, new: str, old_value, new_value, default, *, stacklevel: int = 3
):
    """The value of a keyword argument renamed from ``old`` to ``new``.

    Returns ``new_value`` when ``old`` was not given (``old_value is UNSET``); else
    warns (DeprecationWarning, pointing at the caller's caller) and returns
    ``old_value``. Giving ``old`` beside a ``new`` other than its ``default`` is an error.

    Examples
    --------
    >>> renamed_keyword("f", "n_samples", "n_draws", UNSET, 3, 1)
    3
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed_keyword("f", "n_samples", "n_draws", 5, 1, 1)
    5
    >>> str(caught[0].message)
    "f: 'n_samples' is deprecated and will be removed in the next release; use 'n_draws'"
    """
    if old_value is UNSET:
        return new_value
    if new_value != default:
        raise TypeError(f"{owner}: give {new!r} only ({old!r} is its deprecated name)")
    warnings.warn(
        f"{owner}: {old!r} is deprecated and will be removed in the next release; use {new!r}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return old_value
