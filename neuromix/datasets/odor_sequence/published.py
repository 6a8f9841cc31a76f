"""Loader of the published layout of the rat odor-sequence data set.

Per rat, ``<rat>_spike_data_binned.npy`` (float, ``(trials, neurons, 400)``: 10 ms bins
from -2 s to +2 s around odor onset, bin 200 = onset; value = fraction of the 1 ms
samples of the bin holding a spike, i.e. spike count / 10) and ``<rat>_trial_info.npy``
(see :func:`neuromix.datasets.odor_sequence.trial_table`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from neuromix.data._binned import BINNED_DIMS, _round_coord
from neuromix.data._checks import _prefix
from neuromix.datasets.odor_sequence.trials import trial_table

__all__ = ["load_published"]

_SPIKES = "_spike_data_binned.npy"
_INFO = "_trial_info.npy"

#: Layout of the published arrays.
PUBLISHED_BIN_SIZE = 0.01
PUBLISHED_ONSET_BIN = 200
PUBLISHED_SAMPLE = 0.001  # 1 ms samples: 10 per bin

# Trials converted at once: bounds the float64 temporaries while reading a memory map.
_CHUNK = 32


def _counts(values: np.ndarray, subject: str, path: Path) -> np.ndarray:
    """Spike counts (uint8) of the published fractions, checked to be multiples of 0.1."""
    per_bin = round(PUBLISHED_BIN_SIZE / PUBLISHED_SAMPLE)
    counts = np.empty(values.shape, dtype=np.uint8)
    for begin in range(0, values.shape[0], _CHUNK):
        scaled = np.asarray(values[begin : begin + _CHUNK], dtype=np.float64) * per_bin
        rounded = np.rint(scaled)
        if not np.all(np.isfinite(scaled)):
            raise ValueError(f"{_prefix(subject)}{path.name}: has NaN or inf values")
        if np.any(np.abs(scaled - rounded) > 1e-6):
            raise ValueError(
                f"{_prefix(subject)}{path.name}: values are not multiples of 0.1 (spike "
                "count / 10); is this the published binned layout?"
            )
        if rounded.min(initial=0) < 0 or rounded.max(initial=0) > per_bin:
            raise ValueError(
                f"{_prefix(subject)}{path.name}: values must lie in [0, 1] (fraction of 1 ms "
                "samples with a spike)"
            )
        counts[begin : begin + _CHUNK] = rounded
    return counts


def _load_one(directory: Path, subject: str) -> xr.DataArray:
    spikes_path = directory / f"{subject}{_SPIKES}"
    info_path = directory / f"{subject}{_INFO}"
    pre = _prefix(subject)
    if not info_path.is_file():
        raise FileNotFoundError(f"{pre}{info_path.name}: missing beside {spikes_path.name}")
    values = np.load(spikes_path, mmap_mode="r", allow_pickle=False)
    if values.ndim != 3:
        raise ValueError(
            f"{pre}{spikes_path.name}: expected shape (trials, neurons, time bins), "
            f"got {values.shape}"
        )
    trials = trial_table(np.load(info_path, allow_pickle=False))
    if len(trials) != values.shape[0]:
        raise ValueError(
            f"{pre}{info_path.name} has {len(trials)} trials but {spikes_path.name} has "
            f"{values.shape[0]}"
        )
    counts = _counts(values, subject, spikes_path)
    n_bins = values.shape[2]
    time = _round_coord((np.arange(n_bins) - PUBLISHED_ONSET_BIN) * PUBLISHED_BIN_SIZE)
    coords = {
        "trial": trials.index.to_numpy(),
        "unit": np.arange(values.shape[1]),
        "time": time,
        **{column: ("trial", trials[column].to_numpy()) for column in trials.columns},
    }
    return xr.DataArray(
        counts,
        dims=BINNED_DIMS,
        coords=coords,
        attrs={
            "subject": subject,
            "bin_size": PUBLISHED_BIN_SIZE,
            "time_resolution": PUBLISHED_SAMPLE,
            "source": str(spikes_path),
        },
        name="counts",
    )


def load_published(
    directory: str | os.PathLike, *, subjects: str | Sequence[str] | None = None
) -> dict[str, xr.DataArray]:
    """Load the published binned spike arrays of the rat odor-sequence data set.

    Parameters
    ----------
    directory : path-like
        Folder holding ``<rat>_spike_data_binned.npy`` and ``<rat>_trial_info.npy``
        for each rat. Rat names are taken from the file names.
    subjects : str or sequence of str, optional
        Rats to load (all found by default).

    Returns
    -------
    dict of str to xarray.DataArray
        Per rat (sorted by name), counts in the binned form (dims ``("trial", "unit",
        "time")``, uint8): ``time`` from -2.0 to 1.99 s (bin starts relative to odor
        onset), ``trial`` = trial numbers, label coords of
        :func:`~neuromix.datasets.odor_sequence.trial_table` (``odor``, ``correct``, ...),
        attrs ``subject``, ``bin_size`` (0.01), ``time_resolution`` (0.001: the 1 ms
        samples) and ``source``. Select a range with
        :func:`~neuromix.data.bin_trials`.

    Raises
    ------
    FileNotFoundError
        When no rat (or a requested rat) is found, or a trial_info file is missing.
    ValueError
        When values are not multiples of 0.1 or trial counts disagree.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     np.save(Path(folder, "Rat1_spike_data_binned.npy"), np.full((1, 2, 400), 0.1))
    ...     np.save(Path(folder, "Rat1_trial_info.npy"), [[1, 1, 1, 1, 1, 1, 1.2, 0, 1]])
    ...     rats = load_published(folder)
    >>> counts = rats["Rat1"]
    >>> dict(counts.sizes), float(counts.time[200]), int(counts.sum())
    ({'trial': 1, 'unit': 2, 'time': 400}, 0.0, 800)
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such folder")
    found = sorted(p.name[: -len(_SPIKES)] for p in directory.glob(f"*{_SPIKES}"))
    if subjects is None:
        wanted = found
        if not wanted:
            raise FileNotFoundError(f"{directory}: no <rat>{_SPIKES} files")
    else:
        wanted = [subjects] if isinstance(subjects, str) else list(subjects)
        absent = [s for s in wanted if s not in found]
        if absent:
            raise FileNotFoundError(
                f"{directory}: no {_SPIKES} file for subject(s) {absent} (found: {found})"
            )
    return {subject: _load_one(directory, subject) for subject in wanted}
