"""Where a figure function may be told to draw: the ``ax`` argument."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes


def axes_list(ax, n_max: int) -> list[Axes] | None:
    """``ax`` as a list: one Axes, or a sequence of 1 to ``n_max`` Axes; None if neither."""
    if isinstance(ax, Axes):
        return [ax]
    axes = list(np.ravel(np.asarray(ax, dtype=object)))
    if not 1 <= len(axes) <= n_max or not all(isinstance(a, Axes) for a in axes):
        return None
    return axes
