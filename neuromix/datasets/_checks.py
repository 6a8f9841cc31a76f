"""Argument checks shared by the image and text data sets of this package."""

from __future__ import annotations

import numpy as np

_KINDS = {0: "non-negative", 1: "positive"}


def check_integer(name: str, value, minimum: int) -> None:
    """Raise ValueError unless ``value`` is an integer (not a bool) of at least ``minimum``.

    ``minimum`` is 0 (the message says "non-negative") or 1 ("positive").
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be a {_KINDS[minimum]} integer, got {value!r}")
