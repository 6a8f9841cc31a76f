"""Read recordings from NWB files, lazily.

Reading takes the subject id from ``nwbfile.subject.subject_id``, the trials from
``nwbfile.trials`` and the spike times from ``nwbfile.units`` -- without building a table
of spikes: each unit is a slice of the ``/units/spike_times`` dataset, read with h5py
only when the unit is asked for (see :class:`NWBSpikeTimes`). Files are opened read-only
and never modified. Writing a recording is :mod:`neuromix.io.nwb.write`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from neuromix.data.binning import _prefix
from neuromix.data.ingest import _check_trials, _check_unit_ids
from neuromix.data.recording import Recording
from neuromix.io.nwb._layout import TRIAL_ID as _TRIAL_ID
from neuromix.io.nwb._layout import UNIT_NAME as _UNIT_NAME

__all__ = ["NWBSpikeTimes", "read_nwb"]


def _file_stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


class NWBSpikeTimes(Sequence):
    """The spike times of the units of one NWB file, read one unit at a time.

    Holds the path and the end offsets of the ragged ``spike_times`` column (read once);
    ``spike_times[i]`` opens the file read-only with h5py and reads only unit ``i``'s
    slice. Iterating opens the file once and reads the units in order.

    Parameters
    ----------
    path : path-like
        The NWB file.
    ends : numpy.ndarray
        ``/units/spike_times_index``: end offset of each unit in ``/units/spike_times``.

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd
    >>> from neuromix.data import from_arrays
    >>> from neuromix.io.nwb import write_recording
    >>> trials = pd.DataFrame({"start_time": [0.0], "stop_time": [1.0]})
    >>> rec = from_arrays([np.array([0.1, 0.2]), np.array([0.5])], trials, subject="R1")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_recording(rec, f"{folder}/r1.nwb")
    ...     lazy = read_nwb(path)["R1"].spike_times
    ...     print(len(lazy), lazy[1], [u.size for u in lazy])
    2 [0.5] [2, 1]
    """

    def __init__(self, path: str | os.PathLike, ends: np.ndarray):
        self._path = Path(path).resolve()
        self._ends = np.asarray(ends, dtype=np.int64)
        # The file is re-opened on every read: remember its size and modification time
        # so that reading a file replaced in the meantime is an error, not other data.
        self._stamp = _file_stamp(self._path)

    @property
    def path(self) -> Path:
        """The NWB file the spike times are read from."""
        return self._path

    def __len__(self) -> int:
        return len(self._ends)

    def _open(self) -> h5py.File:
        if _file_stamp(self._path) != self._stamp:
            raise RuntimeError(
                f"{self._path}: the file changed since it was read; read it again with read_nwb"
            )
        return h5py.File(self._path, "r")

    def _bounds(self, i: int) -> tuple[int, int]:
        return (int(self._ends[i - 1]) if i > 0 else 0), int(self._ends[i])

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = int(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"unit {index} out of range for {len(self)} units")
        start, stop = self._bounds(i)
        with self._open() as file:
            return np.asarray(file["units/spike_times"][start:stop], dtype=np.float64)

    def __iter__(self) -> Iterator[np.ndarray]:
        if len(self) == 0:
            return
        with self._open() as file:
            dataset = file["units/spike_times"]
            for i in range(len(self)):
                start, stop = self._bounds(i)
                yield np.asarray(dataset[start:stop], dtype=np.float64)

    def __repr__(self) -> str:
        return f"NWBSpikeTimes({str(self._path)!r}, n_units={len(self)})"


def _scalar_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Drop columns holding lists, arrays or references (tags, timeseries, ...)."""
    keep = []
    for column in table.columns:
        values = table[column]
        if values.dtype == object and any(
            not isinstance(v, (str, bytes, bool, int, float, np.generic)) for v in values
        ):
            continue
        keep.append(column)
    return table[keep]


def _check_nwb_file(path: Path, subject: str | None = None) -> None:
    """FileNotFoundError or ValueError unless ``path`` is an existing HDF5 file (the
    container of NWB 2), checked from its signature without reading it."""
    pre = _prefix(subject)
    if not path.exists():
        raise FileNotFoundError(f"{pre}{path}: no such file")
    if not path.is_file():
        raise FileNotFoundError(f"{pre}{path}: not a file (a folder?); give an .nwb file")
    if not h5py.is_hdf5(path):
        raise ValueError(
            f"{pre}{path}: not an NWB file: NWB files are HDF5 and this one is not "
            f"({path.stat().st_size} bytes without the HDF5 signature)"
        )


def _open_nwb(path: Path) -> tuple[Any, Any]:
    """The open NWBHDF5IO and its NWBFile, or ValueError naming the file."""
    # Imported here: pynwb takes a second to import and only NWB users need it.
    from pynwb import NWBHDF5IO

    try:
        io = NWBHDF5IO(str(path), "r")
    except (OSError, TypeError, ValueError, KeyError) as error:
        raise ValueError(
            f"{path}: cannot be read as an NWB file (truncated, damaged, or HDF5 that is "
            f"not NWB): {type(error).__name__}: {error}"
        ) from error
    try:
        return io, io.read()
    except Exception as error:
        io.close()
        raise ValueError(
            f"{path}: cannot be read as an NWB file (truncated, damaged, or HDF5 that is "
            f"not NWB): {type(error).__name__}: {error}"
        ) from error


def _read_one(path: Path) -> Recording:
    _check_nwb_file(path)
    io, nwbfile = _open_nwb(path)
    with io:
        subject = nwbfile.subject.subject_id if nwbfile.subject is not None else None
        if not subject:
            raise ValueError(
                f"{path}: no subject id (nwbfile.subject.subject_id); set it when writing, "
                "e.g. NWBFile.subject = pynwb.file.Subject(subject_id='R1', ...), or build "
                "the recording with neuromix.from_arrays(..., subject='R1')"
            )
        subject = str(subject)
        pre = f"{path}: {_prefix(subject)}"
        if nwbfile.trials is None:
            raise ValueError(f"{pre}trials: the file has no trials table (nwbfile.trials)")
        trials = _scalar_columns(nwbfile.trials.to_dataframe())
        if _TRIAL_ID in trials.columns:
            trials = trials.set_index(_TRIAL_ID)
        units = nwbfile.units
        if units is None or "spike_times" not in units.colnames:
            raise ValueError(f"{pre}spike_times: the file has no units table with spike_times")
        if _UNIT_NAME in units.colnames:
            unit_ids = np.asarray([str(v) for v in units[_UNIT_NAME].data[:]])
        else:
            unit_ids = np.asarray(units.id.data[:])
        resolution = units.resolution
        if resolution is not None and not (np.isfinite(resolution) and resolution > 0):
            resolution = None
        try:
            trials = _check_trials(trials, subject, resolution)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{path}: {error}") from None
        metadata = {
            "source": str(path),
            "identifier": nwbfile.identifier,
            "session_description": nwbfile.session_description,
            "session_start_time": nwbfile.session_start_time,
            "species": nwbfile.subject.species,
            "sex": nwbfile.subject.sex,
            "age": nwbfile.subject.age,
        }
    with h5py.File(path, "r") as file:
        ends = file["units/spike_times_index"][:]
    return Recording(
        subject=subject,
        spike_times=NWBSpikeTimes(path, ends),
        unit_ids=_check_unit_ids(unit_ids, len(ends), subject),
        trials=trials,
        time_resolution=None if resolution is None else float(resolution),
        metadata={k: v for k, v in metadata.items() if v is not None},
    )


def read_nwb(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> dict[str, Recording]:
    """Read one recording per NWB file, with lazy spike times.

    Parameters
    ----------
    paths : path-like or sequence of path-likes
        One file per subject.

    Returns
    -------
    dict of str to Recording
        Keyed by subject id, in the order of ``paths``. Trials come from
        ``nwbfile.trials`` (index = trial ids; columns holding lists or references are
        left out); unit ids from the ``unit_name`` column when present, else the units
        table's ids; ``time_resolution`` from the units table's ``resolution``;
        ``spike_times`` is an :class:`NWBSpikeTimes` that reads a unit only when it is
        binned. ``metadata`` holds the source path, identifier, session description
        and start time, and the subject's species, sex and age.

    Raises
    ------
    FileNotFoundError
        A path that does not exist or is a folder.
    ValueError
        Before reading any spike: a file that is not HDF5 (not NWB) or that pynwb cannot
        read (truncated, damaged); a file without subject id, trials table or units
        table; a trial table with bad times (see :func:`~neuromix.data.from_arrays`);
        two files holding the same subject.

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd
    >>> from neuromix.data import from_arrays
    >>> from neuromix.io.nwb import write_recording
    >>> trials = pd.DataFrame({"start_time": [0.0], "stop_time": [1.0], "odor": ["A"]})
    >>> rec = from_arrays([np.array([0.1, 0.2])], trials, subject="R1")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     recordings = read_nwb([write_recording(rec, f"{folder}/r1.nwb")])
    >>> recordings
    {'R1': Recording(subject='R1', n_units=1, n_trials=1, labels=['odor'])}
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not isinstance(paths, Sequence) or any(
        not isinstance(p, (str, os.PathLike)) for p in paths
    ):
        raise TypeError(
            "paths: expected a path or a sequence of paths of NWB files (one per subject), "
            f"got {type(paths).__name__}"
        )
    if len(paths) == 0:
        raise ValueError("paths: no files given")
    paths = [Path(p) for p in paths]
    for path in paths:  # every file is checked before any is read
        _check_nwb_file(path)
    recordings: dict[str, Recording] = {}
    sources: dict[str, Path] = {}
    for path in paths:
        recording = _read_one(path)
        if recording.subject in recordings:
            raise ValueError(
                f"{_prefix(recording.subject)}found in two files, {sources[recording.subject]} "
                f"and {path}; give one file per subject"
            )
        recordings[recording.subject] = recording
        sources[recording.subject] = path
    return recordings
