"""The inputs of :class:`~neuromix.estimators.NeuralModel`: per-subject parameters,
``start``/``stop`` and their checks, before any binning.

A mixin of the estimator, split from :mod:`neuromix.estimators.neural` for size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neuromix._validation import check_params, check_same_counts
from neuromix.data.binning import _positive_bins, _seconds
from neuromix.data.ingest import _check_trials, collect_recordings
from neuromix.data.recording import Recording
from neuromix.data.windows import n_windows as count_windows
from neuromix.evaluation.onset import _training_onsets
from neuromix.models.registry import get_method

__all__: list[str] = []


def _scalar_or_mapping(value) -> bool:
    return value is None or (
        isinstance(value, int | float | Mapping) and not isinstance(value, bool)
    )


def _is_auto(value) -> bool:
    return isinstance(value, str) and value == "auto"


def _start_spec(value) -> bool:
    return _is_auto(value) or _scalar_or_mapping(value)


class _InputsMixin:
    """Per-subject parameters and the checks of windows before binning."""

    def _normalise(self, recordings) -> dict[str, Recording | xr.DataArray]:
        """Mapping subject -> Recording or binned DataArray, from every accepted input."""
        return collect_recordings(recordings, subject_dim=self.subject_dim)

    def _per_subject(self, value, subjects, name, default, auto=None):
        if isinstance(value, Mapping):
            missing = [s for s in subjects if s not in value]
            if missing:
                raise ValueError(f"{name}: no value for subject {missing[0]!r}")
            unknown = [k for k in value if k not in subjects]
            if unknown:
                raise ValueError(
                    f"{name}: subject {unknown[0]!r} is not in the recordings "
                    f"({', '.join(map(repr, subjects))})"
                )
            values = {s: value[s] for s in subjects}
        else:
            values = dict.fromkeys(subjects, value)
        wanted = [s for s in subjects if _is_auto(values[s])]
        if wanted and auto is not None:
            values.update(auto(wanted))
        if isinstance(value, Mapping):
            return {s: _seconds(values[s], name, s) for s in subjects}
        return {
            s: _seconds(default(s) if values[s] is None else values[s], name, s) for s in subjects
        }

    def _auto_starts(self, data, trials, test, subjects) -> dict[str, float]:
        """``start="auto"``: the response onsets of ``subjects`` on their training trials."""
        found = _training_onsets(
            {s: data[s] for s in subjects},
            trials,
            test,
            label=self.label,
            subject_dim=self.subject_dim,
            bin_size=self.bin_size,
            seed=self.seed,
        )
        onsets = dict(zip(subjects, found["onset"].values.tolist(), strict=True))
        for s, onset in onsets.items():
            if np.isnan(onset):
                raise ValueError(
                    f"subject {s!r}: start='auto': no response depending on "
                    f"{self.label!r} was found on the training trials (see "
                    "neuromix.response_onset); pass start= for this subject"
                )
        return onsets

    def _check_params_early(self):
        """Every parameter, those of the array-level model included, before any work."""
        check_params(self.get_params(deep=False), self._parameter_constraints)
        vae = self._make_vae()
        check_params(vae.get_params(deep=False), vae._parameter_constraints)
        get_method(self.method, **(self.method_params or {}))
        return vae

    def _check_ranges(self, data, trials, starts, stops):
        """Windows per subject, checked before binning: ``window`` and ``step`` whole
        numbers of bins, ``[start, stop)`` inside every kept trial, and the same number
        of windows for every subject (windows are paired by index)."""
        for name in ("window", "step"):
            _positive_bins(getattr(self, name), self.bin_size, name)
        windows = {}
        for s in data:
            try:
                windows[s] = count_windows(
                    starts[s], stops[s], self.window, self.step, bin_size=self.bin_size
                )
            except ValueError as error:
                raise ValueError(f"subject {s!r}: {error}") from None
            if not isinstance(data[s], Recording):
                continue  # binned data: bin_trials checks the range against its time axis
            table = trials[s]
            length = (table["stop_time"] - table["start_time"]).to_numpy(dtype=float)
            short = length < stops[s] - 1e-9
            if short.any():
                ids = table.index[short].tolist()
                default = (
                    " (stop defaults to start + window + 15 steps)" if self.stop is None else ""
                )
                raise ValueError(
                    f"subject {s!r}: stop: windows run to {stops[s]!r} s after onset{default}, "
                    f"past the end of trials {ids[:5]} (the shortest lasts "
                    f"{float(length.min())!r} s); lower start, stop or window"
                )
        check_same_counts(
            windows,
            "start/stop: subjects get different numbers of windows",
            "windows are paired by index, so every subject's range must hold the same number",
        )
        return windows


def _metadata(data) -> Mapping[str, Any]:
    return data.metadata if isinstance(data, Recording) else data.attrs


def _source_file(data) -> str | None:
    """The file a subject was read from: ``metadata["source"]`` when it names a file."""
    from pathlib import Path

    source = _metadata(data).get("source")
    return str(source) if source is not None and Path(str(source)).is_file() else None


def _trial_table(subject: str, data) -> pd.DataFrame:
    if isinstance(data, Recording):
        # Checked again: a Recording may have been built directly, not by from_arrays.
        return _check_trials(data.trials, subject, data.time_resolution)
    trial_coords = {
        name: coord.values
        for name, coord in data.coords.items()
        if coord.dims == ("trial",) and name != "trial"
    }
    return pd.DataFrame(trial_coords, index=pd.Index(data["trial"].values, name="trial"))
