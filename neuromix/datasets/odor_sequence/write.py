"""Write simulated (or any) rats of the odor-sequence experiment to one NWB file each.

Only the public :func:`neuromix.write_recording` is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from neuromix.data import Recording
from neuromix.io.nwb import write_recording

__all__ = ["write_odor_sequence_nwb"]


def write_odor_sequence_nwb(
    recordings: Mapping[str, Recording],
    directory: str | Path,
    *,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write simulated (or any) rats to one NWB file each, ``<directory>/<subject>.nwb``.

    Parameters
    ----------
    recordings : mapping of str to Recording
        For example the result of :func:`simulate_odor_sequence`.
    directory : str or path-like
        Folder of the files; created if missing.
    overwrite : bool, default False
        Replace existing files; otherwise an existing file is an error.

    Returns
    -------
    dict of str to pathlib.Path
        Path of each subject's file, keyed like ``recordings``.

    Examples
    --------
    >>> import tempfile
    >>> from neuromix.datasets import simulate_odor_sequence, write_odor_sequence_nwb
    >>> rats = simulate_odor_sequence(subjects="Stella", n_units=3, n_trials=2)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = write_odor_sequence_nwb(rats, folder)
    ...     print(paths["Stella"].name)
    Stella.nwb
    """
    if not isinstance(recordings, Mapping):
        raise TypeError(
            f"recordings must be a mapping of subject to Recording, got "
            f"{type(recordings).__name__}"
        )
    targets = {}
    for key, recording in recordings.items():
        if not isinstance(recording, Recording):
            raise TypeError(
                f"recordings[{key!r}] must be a Recording, got {type(recording).__name__}"
            )
        targets[key] = Path(directory) / f"{recording.subject}.nwb"
    names = [path.name for path in targets.values()]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"two recordings would be written to {', '.join(duplicated)}")
    # Check every target before writing any, so that a refusal leaves no partial set.
    existing = [str(path) for path in targets.values() if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{', '.join(existing)} already exist; pass overwrite=True to replace them"
        )
    Path(directory).mkdir(parents=True, exist_ok=True)
    return {
        key: Path(write_recording(recordings[key], path, overwrite=overwrite))
        for key, path in targets.items()
    }
