"""Write a recording to an NWB file (units, trials and subject), atomically.

Reading it back is :mod:`neuromix.io.nwb.read`.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neuromix._atomic import check_writable, write_atomic
from neuromix.data.binning import _prefix
from neuromix.data.recording import Recording
from neuromix.io.nwb._layout import TRIAL_ID as _TRIAL_ID
from neuromix.io.nwb._layout import UNIT_NAME as _UNIT_NAME

__all__ = ["DEFAULT_SPECIES", "write_recording"]

#: Species written when ``recording.metadata`` has no ``"species"``.
DEFAULT_SPECIES = "Rattus norvegicus"


def _label_values(values: pd.Series, column: str, subject: str) -> tuple[np.ndarray, str]:
    """Values of a trial label column as a numpy array NWB can store, and their kind."""
    pre = _prefix(subject)
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return values.to_numpy(dtype=bool), "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return values.to_numpy(dtype=np.int64), "int"
    if pd.api.types.is_float_dtype(dtype):
        return values.to_numpy(dtype=np.float64), "float"
    if values.isna().any():
        raise ValueError(
            f"{pre}trials: column {column!r} has missing values; NWB cannot hold them"
        )
    if pd.api.types.is_string_dtype(dtype) or all(isinstance(v, str) for v in values):
        return np.asarray([str(v) for v in values], dtype=object), "str"
    raise TypeError(
        f"{pre}trials: column {column!r} of dtype {dtype} cannot be written to NWB; use bool, "
        "int, float or str"
    )


def _build_nwbfile(
    recording: Recording,
    session_start_time: datetime | None,
    session_description: str | None,
) -> Any:
    from pynwb import NWBFile
    from pynwb.file import Subject

    subject = recording.subject
    meta = recording.metadata
    start = session_start_time or meta.get("session_start_time")
    if not isinstance(start, datetime):
        # NWB requires a start time; "now" is honest about not knowing it and passes the
        # inspector's checks (a placeholder such as 1970 does not).
        start = datetime.now(UTC).replace(microsecond=0)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    description = (
        session_description
        or meta.get("session_description")
        or f"Spike trains and trials of subject {subject}, written by neuromix"
    )
    nwbfile = NWBFile(
        session_description=str(description),
        identifier=str(uuid.uuid4()),
        session_start_time=start,
    )
    nwbfile.subject = Subject(
        subject_id=subject,
        species=str(meta.get("species", DEFAULT_SPECIES)),
        # "U" (unknown) and "P0D/" (an open-ended age range) are the NWB forms of
        # "not recorded" that still validate.
        sex=str(meta.get("sex", "U")),
        age=str(meta.get("age", "P0D/")),
        description=str(meta.get("subject_description", f"subject {subject}")),
    )

    nwbfile.trials = _trials_table(recording.trials, subject)
    nwbfile.units = _units_table(recording)
    return nwbfile


def _table_ids(ids, name: str, description: str) -> tuple[Any, list]:
    """The ``id`` of an NWB table holding ``ids``, and the columns it needs besides.

    NWB table ids are integers: integer ids are used as they are; other ids become
    0, 1, ... and are kept as strings in a column ``name`` of their own.
    """
    from hdmf.common import ElementIdentifiers, VectorData

    if pd.api.types.is_integer_dtype(ids.dtype):
        return ElementIdentifiers(name="id", data=np.array(ids, dtype=np.int64)), []
    column = VectorData(
        name=name,
        description=description,
        data=np.asarray([str(v) for v in ids], dtype=object),
    )
    return ElementIdentifiers(name="id", data=np.arange(len(ids))), [column]


def _trials_table(trials: pd.DataFrame, subject: str) -> Any:
    """The trials as a TimeIntervals table built from whole columns (not row by row)."""
    from hdmf.common import VectorData
    from pynwb.epoch import TimeIntervals

    columns = [
        VectorData(
            name="start_time",
            description="Start time of the trial (onset), in seconds",
            data=trials["start_time"].to_numpy(dtype=np.float64),
        ),
        VectorData(
            name="stop_time",
            description="Stop time of the trial, in seconds",
            data=trials["stop_time"].to_numpy(dtype=np.float64),
        ),
    ]
    for column in trials.columns:
        if column in ("start_time", "stop_time"):
            continue
        values, kind = _label_values(trials[column], str(column), subject)
        columns.append(
            VectorData(name=str(column), description=f"trial label {column} ({kind})", data=values)
        )
    ids, id_columns = _table_ids(trials.index, _TRIAL_ID, "trial identifier")
    return TimeIntervals(
        name="trials",
        description="trials; start_time is the trial onset",
        id=ids,
        columns=columns + id_columns,
    )


def _units_table(recording: Recording) -> Any:
    """The Units table built from whole columns.

    Adding units one by one makes hdmf convert every spike time separately (minutes for
    millions of spikes); one concatenated array is written at once.
    """
    from hdmf.common import VectorData, VectorIndex
    from pynwb.misc import Units

    # Each unit is read once, in order (lazy units from another file included).
    arrays = [np.asarray(times, dtype=np.float64) for times in recording.spike_times]
    spike_times = VectorData(
        name="spike_times",
        description="the spike times for each unit in seconds",
        data=np.concatenate(arrays) if arrays else np.zeros(0),
    )
    columns = [
        spike_times,
        VectorIndex(
            name="spike_times_index",
            data=np.cumsum([a.size for a in arrays], dtype=np.int64),
            target=spike_times,
        ),
    ]
    ids, id_columns = _table_ids(np.asarray(recording.unit_ids), _UNIT_NAME, "unit identifier")
    return Units(
        name="units",
        description=f"sorted units of subject {recording.subject}",
        resolution=recording.time_resolution,
        id=ids,
        columns=columns + id_columns,
    )


def write_recording(
    recording: Recording,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    session_start_time: datetime | None = None,
    session_description: str | None = None,
) -> Path:
    """Write a recording to an NWB file: units, trials and subject.

    Parameters
    ----------
    recording : Recording
        What to write. Spike times go to the Units table (with ``resolution`` =
        ``time_resolution`` when known); unit ids become the units table's ids when they
        are integers, else a ``unit_name`` column; every label column of the trial table
        (bool, int, float or str) becomes a trials column; non-integer trial ids a
        ``trial_id`` column.
    path : path-like
        Destination file (``.nwb``).
    overwrite : bool, default False
        Replace an existing file; otherwise an existing file is an error.
    session_start_time : datetime, optional
        Start of the session; else ``metadata["session_start_time"]``, else the
        current time (NWB requires one). Naive datetimes are taken as UTC.
    session_description : str, optional
        Else ``metadata["session_description"]``, else a generic description.

    Returns
    -------
    pathlib.Path
        The written file.

    Notes
    -----
    The subject gets ``species`` (``metadata["species"]``, default "Rattus
    norvegicus"), ``sex`` (default "U", unknown) and ``age`` (default "P0D/", an
    open-ended range) so that the file passes nwbinspector's checks. The file is
    written to a temporary file in the destination folder, flushed to disk and moved
    into place (:mod:`neuromix._atomic`): a failed write never leaves a partial file at
    ``path`` nor changes the file it would replace. A read-only ``path`` or folder is a
    PermissionError; a full disk an OSError (``errno.ENOSPC``) naming the file.

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd
    >>> from neuromix.data import from_arrays
    >>> trials = pd.DataFrame({"start_time": [0.0], "stop_time": [1.0], "correct": [True]})
    >>> rec = from_arrays([np.array([0.1, 0.2])], trials, subject="R1", time_resolution=1e-4)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     print(write_recording(rec, f"{folder}/r1.nwb").name)
    r1.nwb
    """
    from pynwb import NWBHDF5IO

    if not isinstance(recording, Recording):
        raise TypeError(f"recording: expected a Recording, got {type(recording).__name__}")
    path = Path(path)
    pre = _prefix(recording.subject)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{pre}{path} exists; pass overwrite=True to replace it")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{pre}{path.parent}: no such folder")
    check_writable(path, label=pre)
    nwbfile = _build_nwbfile(recording, session_start_time, session_description)

    def write(temporary: Path) -> None:
        with NWBHDF5IO(temporary, "w") as io:
            io.write(nwbfile)

    # ".nwb" ending of the temporary name keeps pynwb quiet.
    write_atomic(
        path,
        write,
        overwrite=overwrite,
        what="the recording",
        suffix=".nwb",
        label=pre,
    )
    return path
