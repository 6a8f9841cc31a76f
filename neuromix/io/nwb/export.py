"""Write latents (an :class:`xarray.DataArray`, one row per window) back into NWB files.

:meth:`neuromix.NeuralModel.to_nwb` calls :func:`write_latents` with its latents and the
settings of its fit; this module knows nothing of models.

Each subject's file gets, in a processing module ``"neuromix"``:

- ``latents_<method>``: a ``TimeSeries`` of posterior means, one row per window
  ``(n_windows, latent_dim)``, stamped with the window centres in the file's clock and
  sorted by time;
- ``latent_windows_<method>``: a ``TimeIntervals`` table with one row per row of the
  TimeSeries, in the same order: the window's absolute ``start_time``/``stop_time``,
  the ``trial`` (a reference to the row of ``nwbfile.trials``), the ``trial_id``, the
  ``window`` index within the trial, the ``split`` ("train"/"test") and a ``timeseries``
  reference to the row of ``latents_<method>``.

Files are never modified in place: each is copied to a temporary file beside its
destination, the copy is augmented, and all copies are flushed to disk and moved into
place only once every subject's copy has been written (:mod:`neuromix._atomic`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from neuromix._atomic import Transaction
from neuromix._version import __version__
from neuromix.data.binning import _prefix
from neuromix.io.nwb._layout import MODULE_NAME
from neuromix.io.nwb._layout import TRIAL_ID as _TRIAL_ID
from neuromix.io.nwb._targets import _ELSEWHERE, _check_target, _targets

__all__ = ["MODULE_NAME", "Fit", "write_latents"]
_MODULE_HEADER = (
    "Latents of multimodal VAEs fitted with neuromix to the spike trains of this file (and, "
    "for joint methods, of other subjects). Per method: a TimeSeries latents_<method> "
    "(posterior means, one row per window of binned spike counts) and a table "
    "latent_windows_<method> (the trial, window and train/test split of each row). Models:"
)


def _names(method: str) -> tuple[str, str]:
    return f"latents_{method}", f"latent_windows_{method}"


@dataclasses.dataclass(frozen=True)
class Fit:
    """The settings of the fit that produced the latents, for names and descriptions."""

    subjects: tuple[str, ...]
    subject_dim: str
    method: str
    beta: float
    latent_dim: int
    window: float
    bin_size: float
    step: float
    spans: Mapping[str, tuple[float, float]]
    params: Mapping[str, Any]


def _joint(fit: Fit) -> str:
    return "independently" if fit.method == "independent" else "jointly"


def _module_description(fit: Fit) -> str:
    joint = _joint(fit)
    line = (
        f"{_names(fit.method)[0]}: neuromix {__version__}, method {fit.method}, "
        f"beta {fit.beta:g}, latent_dim {fit.latent_dim}, {len(fit.subjects)} "
        f"{fit.subject_dim}s modelled {joint} ({', '.join(fit.subjects)})"
    )
    return f"{_MODULE_HEADER}\n{line}"


def _merge_descriptions(old: str, new: str) -> str:
    """``new`` with the model lines of ``old`` for other methods kept (sorted)."""
    lines = dict(
        (line.split(":", 1)[0], line) for line in old.splitlines() if line.startswith("latents_")
    )
    header, line = new.split("\n", 1)
    lines[line.split(":", 1)[0]] = line
    return "\n".join([header, *(lines[k] for k in sorted(lines))])


def _prepare_copy(tmp: Path, names, description: str) -> None:
    """Delete old latents of this method from the copy and update the module description.

    pynwb cannot remove containers from a file opened for appending, so this is done with
    h5py before pynwb opens the copy. A module left empty is deleted (pynwb recreates it).
    """
    with h5py.File(tmp, "r+") as file:
        location = f"processing/{MODULE_NAME}"
        if location not in file:
            return
        group = file[location]
        for name in names:
            if name in group:
                del group[name]
        if len(group) == 0:
            del file[location]
            return
        old = group.attrs.get("description", "")
        old = old.decode() if isinstance(old, bytes) else str(old)
        group.attrs["description"] = _merge_descriptions(old, description)


def _trial_rows(subject, path, trials, trial_ids, onsets) -> np.ndarray:
    """Row of ``nwbfile.trials`` of each window's trial; checks the onsets agree."""
    pre = _prefix(subject)
    if trials is None:
        raise ValueError(f"{pre}{path}: the file has no trials table (nwbfile.trials)")
    if _TRIAL_ID in trials.colnames:
        file_ids = pd.Index([str(v) for v in trials[_TRIAL_ID].data[:]])
        wanted = np.asarray([str(v) for v in trial_ids], dtype=object)
    else:
        file_ids = pd.Index(np.asarray(trials.id.data[:]))
        wanted = trial_ids
    rows = file_ids.get_indexer(wanted)
    if np.any(rows < 0):
        missing = pd.unique(np.asarray(trial_ids)[rows < 0])
        raise ValueError(
            f"{pre}{path} has no trial(s) {', '.join(map(repr, missing[:5].tolist()))} that "
            "the model was fitted on; is it this subject's file?"
        )
    file_onsets = np.asarray(trials["start_time"].data[:], dtype=np.float64)[rows]
    if onsets is not None and not np.allclose(file_onsets, onsets, rtol=0.0, atol=1e-6):
        raise ValueError(
            f"{pre}{path}: trial start times differ from those the model was fitted on; "
            "is it this subject's file?"
        )
    return rows


def _subject_latents(fit: Fit, latents, subject) -> dict[str, np.ndarray]:
    mask = np.asarray(latents[fit.subject_dim].values == subject)
    out = {
        "mean": np.asarray(latents.values[mask]),
        "trial": np.asarray(latents["trial"].values[mask]),
        "window": np.asarray(latents["window"].values[mask], dtype=np.int64),
        "time": np.asarray(latents["time"].values[mask], dtype=np.float64),
        "split": np.asarray([str(v) for v in latents["split"].values[mask]], dtype=object),
    }
    if "start_time" in latents.coords:
        out["onset"] = np.asarray(latents["start_time"].values[mask], dtype=np.float64)
    return out


def _add_latents(io, subject, path, fit: Fit, values, description) -> None:
    """Build the TimeSeries and the window table of one subject and write them."""
    from hdmf.common import DynamicTableRegion, ElementIdentifiers, VectorData, VectorIndex
    from pynwb import TimeSeries
    from pynwb.base import TimeSeriesReference, TimeSeriesReferenceVectorData
    from pynwb.epoch import TimeIntervals

    series_name, table_name = _names(fit.method)
    nwbfile = io.read()
    pre = _prefix(subject)
    file_subject = nwbfile.subject.subject_id if nwbfile.subject is not None else None
    if file_subject and str(file_subject) != subject:
        raise ValueError(
            f"{pre}{path} holds subject {file_subject!r}, not {subject!r}; pass "
            f"paths={{{subject!r}: <{subject}'s file>}}"
        )
    rows = _trial_rows(subject, path, nwbfile.trials, values["trial"], values.get("onset"))
    onsets = np.asarray(nwbfile.trials["start_time"].data[:], dtype=np.float64)[rows]
    starts = onsets + values["time"]
    centres = starts + fit.window / 2
    order = np.argsort(centres, kind="stable")
    n = order.size
    s0, s1 = fit.spans[subject]
    series = TimeSeries(
        name=series_name,
        description=(
            f"Posterior means of the {fit.latent_dim}-dimensional latent of "
            f"{fit.subject_dim} {subject}, encoded from windows of {fit.window * 1e3:g} ms "
            f"of spike counts in {fit.bin_size * 1e3:g} ms bins, cut every "
            f"{fit.step * 1e3:g} ms from {s0:g} s to {s1:g} s after each trial's onset. "
            "Each row is one window; timestamps are the window centres (trial start_time + "
            f"window start + {fit.window / 2:g} s), rows sorted by time. Row i is described "
            f"by row i of {table_name} (trial, window, train/test split). Method "
            f"{fit.method}, beta {fit.beta:g}, fitted {_joint(fit)} on "
            f"{', '.join(fit.subjects)} with neuromix {__version__}."
        ),
        comments="neuromix NeuralModel parameters: "
        + json.dumps(dict(fit.params), default=str, sort_keys=True),
        data=values["mean"][order],
        unit="a.u.",
        timestamps=centres[order],
    )
    trial_ids = values["trial"][order]
    columns = [
        VectorData(
            name="start_time",
            description="start of the window, in seconds (the file's clock)",
            data=starts[order],
        ),
        VectorData(
            name="stop_time",
            description=f"end of the window (start_time + {fit.window:g} s), in seconds",
            data=starts[order] + fit.window,
        ),
        DynamicTableRegion(
            name="trial",
            description="the trial the window was cut from (row of the trials table)",
            data=rows[order].astype(np.int64),
            table=nwbfile.trials,
        ),
        VectorData(
            name="trial_id",
            description="identifier of the trial the window was cut from",
            data=(
                trial_ids.astype(np.int64)
                if trial_ids.dtype.kind in "iu"
                else np.asarray([str(v) for v in trial_ids], dtype=object)
            ),
        ),
        VectorData(
            name="window",
            description="index of the window within its trial (0 = first)",
            data=values["window"][order],
        ),
        VectorData(
            name="split",
            description="'train' if the trial was used to fit the model, 'test' if held out",
            data=values["split"][order],
        ),
    ]
    # The predefined (ragged) timeseries column of TimeIntervals: one reference per row.
    references = TimeSeriesReferenceVectorData(
        name="timeseries",
        description=f"the row of {series_name} holding the window's latent",
        data=[TimeSeriesReference(i, 1, series) for i in range(n)],
    )
    columns += [
        references,
        VectorIndex(name="timeseries_index", data=np.arange(1, n + 1), target=references),
    ]
    table = TimeIntervals(
        name=table_name,
        description=(
            f"One row per window of {series_name}, in the same order: the window's start and "
            "stop time, its trial, its index within the trial and whether the trial was used "
            "for training or held out."
        ),
        id=ElementIdentifiers(name="id", data=np.arange(n)),
        columns=columns,
    )
    if MODULE_NAME in nwbfile.processing:
        module = nwbfile.processing[MODULE_NAME]
    else:
        module = nwbfile.create_processing_module(name=MODULE_NAME, description=description)
    module.add(series)
    module.add(table)
    io.write(nwbfile)


def _write_one(subject, source, tmp, *, fit, latents, names, description) -> None:
    from pynwb import NWBHDF5IO

    # The content only: the destination's mode is set when the copy is moved into place.
    shutil.copyfile(source, tmp)
    _prepare_copy(tmp, names, description)
    values = _subject_latents(fit, latents, subject)
    with NWBHDF5IO(str(tmp), "a") as io:
        _add_latents(io, subject, source, fit, values, description)


def write_latents(
    latents: xr.DataArray,
    sources: Mapping[str, str | os.PathLike | None],
    paths: Mapping[str, str | os.PathLike] | None = None,
    *,
    subject_dim: str,
    method: str,
    beta: float,
    window: float,
    bin_size: float,
    step: float,
    spans: Mapping[str, tuple[float, float]],
    params: Mapping[str, Any] | None = None,
    out_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write each subject's latents into its NWB file.

    Parameters
    ----------
    latents : xarray.DataArray
        Posterior means, dims ``("sample", "latent")``, with per-sample coords
        ``subject_dim``, ``trial``, ``window``, ``time`` (window start relative to the
        trial onset, s), ``split`` ("train"/"test") and optionally ``start_time`` (the
        trial onset, checked against the file), as :meth:`neuromix.NeuralModel.latents`.
    sources : mapping of str to path-like or None
        The subjects to write, in order, each with the file its data were read from
        (``None`` for data in memory).
    paths : mapping of str to path-like, optional
        NWB file of some or all subjects; the others use their ``sources`` file. Needed
        for subjects fitted on data in memory: write their recording with
        :func:`neuromix.write_recording` first.
    subject_dim : str
        Name of the subject coord of ``latents`` (e.g. "rat").
    method, beta : str, float
        The model's method and prior weight (names and descriptions).
    window, bin_size, step : float
        Window length, bin size and window step in seconds.
    spans : mapping of str to (float, float)
        Each subject's first and last window start after the trial onset (s).
    params : mapping, optional
        The estimator's parameters, stored as JSON in the TimeSeries' ``comments``.
    out_dir : path-like, optional
        Write the augmented files to this folder (created if missing), under their
        original names, and leave the source files untouched. By default each file is
        replaced.
    overwrite : bool, default False
        Replace latents of the same method already in a file (and, with ``out_dir``, a
        file already there); otherwise they are an error.

    Returns
    -------
    dict of str to pathlib.Path
        The written file of each subject.

    Raises
    ------
    ValueError
        A subject without a file (fitted on data in memory and not in ``paths``), a file
        of another subject, or a file without the trials of ``latents``.
    FileNotFoundError
        A file in ``paths`` that does not exist, or a source file since moved.
    FileExistsError
        A file that already holds ``latents_<method>`` or ``latent_windows_<method>``, or
        an existing file in ``out_dir``, without ``overwrite``.
    PermissionError
        A read-only file to replace (or its folder, or ``out_dir``).
    OSError
        A full disk (``errno.ENOSPC``): the message names the file and the bytes
        written; every file is left as it was.

    Notes
    -----
    Each file gets a processing module ``"neuromix"`` holding a ``TimeSeries``
    ``latents_<method>`` (posterior means ``(n_windows, latent_dim)``, unit "a.u.",
    timestamps = window centres: trial ``start_time`` + window start + ``window`` / 2,
    sorted by time) and a ``TimeIntervals`` table ``latent_windows_<method>`` whose
    row i describes row i of the TimeSeries: absolute ``start_time``/``stop_time`` of
    the window, ``trial`` (reference to ``nwbfile.trials``), ``trial_id``, ``window``
    (index within the trial), ``split`` ("train"/"test") and ``timeseries`` (reference
    to the row). Latents of other methods in the module are kept.

    Every check is made before any file is written. Each file is copied to a temporary
    file beside its destination and augmented there; the copies are flushed to disk and
    replace their destinations only once all of them are written, and if one move
    fails the files already replaced are put back, so a failure (an error, a full disk,
    an interrupt) leaves every file as it was and no temporary file behind. A process
    killed meanwhile (SIGKILL, power loss) leaves each file either as it was or
    complete, plus a hidden temporary file ``.<name>.<host>-<pid>.<random>.tmp.nwb``
    that the next export to that file removes (see :mod:`neuromix._atomic`). Replaced
    latents are deleted with h5py, which does not shrink the file.

    Examples
    --------
    >>> import tempfile
    >>> import neuromix as nm
    >>> rats = nm.datasets.simulate_odor_sequence(
    ...     subjects=["Barat", "Mitt"], seed=0, n_trials=20, n_units=3
    ... )
    >>> files = nm.datasets.write_odor_sequence_nwb(rats, tempfile.mkdtemp())
    >>> recordings = nm.read_nwb(list(files.values()))
    >>> model = nm.fit(recordings, subject_dim="rat", test_size=0.25, epochs=1, progress=False)
    >>> written = write_latents(
    ...     model.latents(),
    ...     model.sources_,
    ...     subject_dim="rat",
    ...     method=model.method,
    ...     beta=model.beta_,
    ...     window=model.window,
    ...     bin_size=model.bin_size,
    ...     step=model.step,
    ...     spans={s: (model.starts_[s], model.stops_[s]) for s in model.subjects_},
    ...     out_dir=tempfile.mkdtemp(),
    ... )
    >>> from pynwb import NWBHDF5IO
    >>> with NWBHDF5IO(written["Mitt"], "r") as io:
    ...     print(io.read().processing["neuromix"]["latents_mmvm"].data.shape)
    (320, 2)
    """
    sources = {str(s): (None if p is None else str(p)) for s, p in sources.items()}
    fit = Fit(
        subjects=tuple(sources),
        subject_dim=subject_dim,
        method=method,
        beta=beta,
        latent_dim=latents.sizes["latent"],
        window=window,
        bin_size=bin_size,
        step=step,
        spans=spans,
        params={} if params is None else params,
    )
    targets = _targets(sources, paths, out_dir)
    names = _names(method)
    for s, (source, destination) in targets.items():
        _check_target(s, source, destination, names, overwrite)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    description = _module_description(fit)
    with Transaction() as transaction:
        for s, (source, destination) in targets.items():
            transaction.write(
                destination,
                functools.partial(
                    _write_one,
                    s,
                    source,
                    fit=fit,
                    latents=latents,
                    names=names,
                    description=description,
                ),
                overwrite=overwrite or destination.resolve() == source.resolve(),
                what=f"the latents (a copy of {source.name} with the latents added)",
                size=source.stat().st_size,
                suffix=".nwb",
                label=_prefix(s),
                elsewhere=_ELSEWHERE,
            )
        transaction.commit()
    return {s: destination for s, (_, destination) in targets.items()}
