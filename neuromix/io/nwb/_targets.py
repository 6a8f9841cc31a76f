"""Where :func:`~neuromix.io.nwb.export.write_latents` writes: each subject's source file
and destination, checked before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import h5py

from neuromix._atomic import check_writable
from neuromix.data.binning import _prefix
from neuromix.io.nwb._layout import MODULE_NAME


def _targets(sources, paths, out_dir) -> dict[str, tuple[Path, Path]]:
    """Source file and destination of each subject, checked before anything is written."""
    subjects = tuple(sources)
    if paths is None:
        paths = {}
    if not isinstance(paths, Mapping):
        raise TypeError(
            "paths must be a mapping subject -> NWB file, e.g. "
            f"{{{subjects[0]!r}: 'file.nwb'}}; got {type(paths).__name__}"
        )
    unknown = [s for s in paths if str(s) not in subjects]
    if unknown:
        raise ValueError(
            f"paths: subject {unknown[0]!r} was not fitted; fitted subjects: "
            f"{', '.join(map(repr, subjects))}"
        )
    given = {str(s): p for s, p in paths.items()}
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and out.exists() and not out.is_dir():
        raise NotADirectoryError(f"out_dir: {out} is not a folder")
    targets = {}
    for s in subjects:
        if s in given:
            source = Path(given[s])
            if not source.is_file():
                raise FileNotFoundError(f"{_prefix(s)}{source}: no such file")
        else:
            source = _source_file(s, sources[s])
        targets[s] = (source, source if out is None else out / source.name)
    seen: dict[Path, str] = {}
    for s, (_, destination) in targets.items():
        key = destination.resolve()
        if key in seen:
            raise ValueError(
                f"subjects {seen[key]!r} and {s!r} would both be written to {destination}; "
                "give each subject its own file"
            )
        seen[key] = s
    return targets


def _source_file(subject: str, source: str | None) -> Path:
    """The NWB file a subject was read from, or an error saying how to give one."""
    pre = _prefix(subject)
    fix = (
        f"pass paths={{{subject!r}: file}}, e.g. after writing the recording with "
        "neuromix.write_recording(recording, file)"
    )
    if source is not None and Path(source).is_file():
        return Path(source)
    if source is not None and Path(source).suffix.lower() == ".nwb":
        raise FileNotFoundError(
            f"{pre}{source}, the file the model was fitted from, no longer exists; {fix}"
        )
    # The recording's metadata["source"] names where in-memory data came from (e.g.
    # "simulate_odor_sequence"), when it does not name a file.
    origin = "data in memory" if source is None else f"data in memory ({source})"
    raise ValueError(
        f"{pre}no NWB file to write the latents to: the model was fitted on {origin}; {fix}"
    )


#: How to write elsewhere, in the messages of a read-only file or folder or a full disk.
_ELSEWHERE = "or write the files to another folder with out_dir=..."


def _check_target(subject, source, destination, names, overwrite) -> None:
    """Refuse a read-only destination, and existing latents (and an existing file in
    ``out_dir``) unless ``overwrite``."""
    pre = _prefix(subject)
    check_writable(destination, label=pre, elsewhere=_ELSEWHERE)
    if overwrite:
        return
    if destination.exists() and destination.resolve() != source.resolve():
        raise FileExistsError(f"{pre}{destination} exists; pass overwrite=True to replace it")
    with h5py.File(source, "r") as file:
        for name in names:
            location = f"processing/{MODULE_NAME}/{name}"
            if location in file:
                raise FileExistsError(
                    f"{pre}{source} already holds {location}; pass overwrite=True to replace it"
                )
