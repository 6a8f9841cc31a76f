"""Numpy values in the JSON files neuromix writes: the ``default`` of :func:`json.dumps`."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plain"]


def plain(value: Any) -> Any:
    """The Python value of a numpy scalar or array; TypeError for anything else.

    Examples
    --------
    >>> import json
    >>> json.dumps({"seed": np.int64(3), "betas": np.array([0.5, 1.0])}, default=plain)
    '{"seed": 3, "betas": [0.5, 1.0]}'
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
