"""The in-memory form of one subject's recording: spike trains plus a trial table.

Everything the ingestion functions return (:func:`neuromix.from_arrays`,
:func:`neuromix.read_nwb`, the simulators) is a :class:`Recording`; binned data
(pre-binned arrays, the published rat layout) is an :class:`xarray.DataArray` of
counts with dims ``("trial", "unit", "time")``, described in :mod:`neuromix.data`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Recording"]


@dataclass(frozen=True, eq=False)
class Recording:
    """Spike trains of one subject and the trials of its experiment.

    Parameters
    ----------
    subject : str
        Subject identifier (e.g. the rat's name).
    spike_times : sequence of array-like
        One 1-D array of spike times in seconds per unit, sorted ascending. Entries
        may be lazy array-likes (e.g. slices of an HDF5 dataset) that support
        ``np.asarray``; they are only read when binned.
    unit_ids : numpy.ndarray
        One identifier per unit, same length as ``spike_times``.
    trials : pandas.DataFrame
        One row per trial with float columns ``start_time`` and ``stop_time`` in
        seconds (``start_time`` is the trial onset, e.g. odor onset) and any number
        of label columns (``odor``, ``correct``, ...). The index holds trial ids.
    time_resolution : float, optional
        Resolution of the acquisition clock in seconds (e.g. ``1 / 30000``). When
        known, spike times are converted to integer ticks before binning so that a
        spike on a bin edge always lands in the same bin.
    metadata : mapping, optional
        Free-form information: the source file, suggested analysis windows, ground
        truth of a simulation.
    """

    subject: str
    spike_times: Sequence[Any]
    unit_ids: np.ndarray
    trials: pd.DataFrame
    time_resolution: float | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.spike_times)

    @property
    def n_trials(self) -> int:
        """Number of trials."""
        return len(self.trials)

    @property
    def labels(self) -> list[str]:
        """Names of the label columns of the trial table."""
        return [c for c in self.trials.columns if c not in ("start_time", "stop_time")]

    def __repr__(self) -> str:
        return (
            f"Recording(subject={self.subject!r}, n_units={self.n_units}, "
            f"n_trials={self.n_trials}, labels={self.labels})"
        )
