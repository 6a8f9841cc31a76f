"""pynapple in and out: a ``TsGroup`` of units and an ``IntervalSet`` of trials become a
:class:`~neuromix.data.Recording`; latents go back as ``TsdFrame`` per subject.

pynapple (``pip install "neuromix[pynapple]"``) is imported only when these are called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neuromix.data.ingest import from_arrays
from neuromix.data.recording import Recording

__all__ = ["from_pynapple", "latents_to_pynapple"]


def _nap():
    try:
        import pynapple
    except ImportError:  # pragma: no cover - the extra is installed by make test
        raise ImportError("pynapple is not installed: pip install 'neuromix[pynapple]'") from None
    return pynapple


def from_pynapple(
    units,
    epochs,
    trials: pd.DataFrame | None = None,
    *,
    subject: str,
    time_resolution: float | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Recording:
    """A subject's recording from pynapple objects, validated as :func:`~neuromix.from_arrays`.

    Parameters
    ----------
    units : pynapple.TsGroup
        One ``Ts`` of spike times (s) per unit; the group's index gives the unit ids.
    epochs : pynapple.IntervalSet
        One interval per trial: ``start`` is the trial onset (e.g. odor onset), ``end``
        its stop. Its metadata columns (pynapple 0.8 and later), e.g. ``odor``, become
        trial labels.
    trials : pandas.DataFrame, optional
        More trial labels, one row per interval in the order of ``epochs``; its index
        gives the trial ids (default ``0 .. n - 1``). A column may not repeat one of the
        intervals' metadata.
    subject : str
        Subject identifier (every error names it).
    time_resolution : float, optional
        Clock tick of the spike times, s.
    metadata : mapping, optional
        Kept in ``Recording.metadata``.

    Returns
    -------
    Recording

    Examples
    --------
    >>> import numpy as np, pynapple as nap
    >>> units = nap.TsGroup({7: nap.Ts(np.array([0.1, 0.5, 2.2])), 9: nap.Ts(np.array([2.4]))})
    >>> epochs = nap.IntervalSet(start=[0.0, 2.0], end=[1.0, 3.0],
    ...                          metadata={"odor": ["A", "B"]})
    >>> rec = from_pynapple(units, epochs, subject="R1")
    >>> rec, rec.unit_ids.tolist(), rec.trials["odor"].tolist()
    (Recording(subject='R1', n_units=2, n_trials=2, labels=['odor']), [7, 9], ['A', 'B'])
    """
    nap = _nap()
    if not isinstance(units, nap.TsGroup):
        raise TypeError(
            f"subject {subject!r}: units: expected a pynapple TsGroup, got {type(units).__name__}"
        )
    if not isinstance(epochs, nap.IntervalSet):
        raise TypeError(
            f"subject {subject!r}: epochs: expected a pynapple IntervalSet of trials, got "
            f"{type(epochs).__name__}"
        )
    n = len(epochs)
    table = pd.DataFrame(
        {"start_time": np.asarray(epochs.start, float), "stop_time": np.asarray(epochs.end, float)}
    )
    columns = list(getattr(epochs, "metadata_columns", []) or [])
    for name in columns:
        values = np.asarray(epochs.metadata[name], dtype=object)
        table[name] = [v.item() if isinstance(v, np.generic) else v for v in values]
    if trials is not None:
        if not isinstance(trials, pd.DataFrame):
            raise TypeError(
                f"subject {subject!r}: trials: expected a pandas DataFrame, got "
                f"{type(trials).__name__}"
            )
        if len(trials) != n:
            raise ValueError(
                f"subject {subject!r}: trials: {len(trials)} rows for {n} intervals of epochs "
                "(one row per trial, in the order of the intervals)"
            )
        twice = sorted(set(trials.columns) & set(table.columns))
        if twice:
            raise ValueError(
                f"subject {subject!r}: trials: columns {twice} are also in epochs (its "
                "start, end or metadata); keep one of each"
            )
        table = pd.concat([table, trials.reset_index(drop=True)], axis=1)
        table.index = trials.index
    spikes = [np.asarray(units[k].t, dtype=np.float64) for k in units.index]
    return from_arrays(
        spikes,
        table,
        subject=subject,
        unit_ids=list(units.index),
        time_resolution=time_resolution,
        metadata={"source": "pynapple", **dict(metadata or {})},
    )


def latents_to_pynapple(latents: xr.DataArray, *, subject_dim: str, window: float) -> dict:
    """Latents (as :meth:`neuromix.NeuralModel.latents` gives them) as one pynapple
    ``TsdFrame`` per subject.

    Each row is one window, at its centre in the recording's clock (trial
    ``start_time`` + window start + ``window`` / 2, as the NWB export), sorted in time;
    the columns are the latent dimensions; the time support is one interval per trial,
    from its first window's start to its last window's end.

    Parameters
    ----------
    latents : xarray.DataArray
        With the per-sample coords ``subject_dim``, ``trial``, ``time`` and
        ``start_time`` (the trial onset: recordings read from spikes have it).
    subject_dim : str
    window : float
        Window length, s.

    Returns
    -------
    dict of str to pynapple.TsdFrame
    """
    nap = _nap()
    if "start_time" not in latents.coords:
        raise ValueError(
            "latents: no start_time coord (the trial onsets): latents of binned input have "
            "no clock to place them on; fit recordings read from spikes"
        )
    out = {}
    for s in pd.unique(latents[subject_dim].values):
        part = latents.sel({subject_dim: s})
        onset = np.asarray(part["start_time"].values, dtype=np.float64)
        begin = onset + np.asarray(part["time"].values, dtype=np.float64)
        centre = begin + window / 2
        order = np.argsort(centre, kind="stable")
        trials = pd.DataFrame({"trial": part["trial"].values, "begin": begin})
        span = trials.groupby("trial", sort=False)["begin"].agg(["min", "max"])
        support = nap.IntervalSet(start=span["min"].values, end=span["max"].values + window)
        columns = [f"latent {i}" for i in range(part.sizes["latent"])]
        out[str(s)] = nap.TsdFrame(
            t=centre[order], d=np.asarray(part.values)[order], columns=columns,
            time_support=support,
        )  # fmt: skip
    return out
