"""Trial structure of the rat odor-sequence experiment: the five rats and their trials.

The published per-trial records (``<rat>_trial_info.npy``) ship as package data in
``neuromix/datasets/odor_sequence/_data`` (see ``SOURCE.md`` there). :func:`trial_table`
labels such an array; :func:`load_trial_info` reads the shipped one of a rat.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

__all__ = ["ODORS", "load_trial_info", "trial_table"]

#: Odor letters; the published arrays code them 1-5.
ODORS = ("A", "B", "C", "D", "E")

_COLUMNS = (
    "correct",
    "in_sequence",
    "position",
    "odor",
    "trial_number",
    "sequence_number",
    "poke_duration",
    "transposition_distance",
    "item_distance",
)


def trial_table(info: np.ndarray) -> pd.DataFrame:
    """Turn a published ``<rat>_trial_info.npy`` array into a labelled trial table.

    Parameters
    ----------
    info : numpy.ndarray of shape (n_trials, 9)
        Columns as documented in the data set: correct, in-sequence, position (1-5),
        odor (1-5), trial number, sequence number, poke duration (s), transposition
        distance, item-item distance.

    Returns
    -------
    pandas.DataFrame
        One row per trial, indexed by ``trial`` (the trial number), with columns
        ``correct`` and ``in_sequence`` (bool), ``position`` (int), ``odor``
        (``"A"``-``"E"``), ``sequence_number`` (int), ``poke_duration`` (float),
        ``transposition_distance`` and ``item_distance`` (int). No ``start_time``
        or ``stop_time``: the arrays do not hold absolute times.

    Examples
    --------
    >>> import numpy as np
    >>> info = np.array([[1, 1, 2, 2, 1, 1, 1.29, 0, 1], [0, 0, 3, 1, 2, 1, 0.8, 2, 1]])
    >>> trial_table(info)[["odor", "correct", "position"]]
          odor  correct  position
    trial
    1        B     True         2
    2        A    False         3
    """
    info = np.asarray(info, dtype=float)
    if info.ndim != 2 or info.shape[1] != len(_COLUMNS):
        raise ValueError(
            f"trial_info: expected an array of shape (n_trials, {len(_COLUMNS)}), "
            f"got shape {info.shape}"
        )
    odor_codes = info[:, 3].astype(int)
    if np.any((odor_codes < 1) | (odor_codes > len(ODORS))):
        raise ValueError("trial_info: odor codes (column 3) must lie in 1-5")
    table = pd.DataFrame(
        {
            "correct": info[:, 0].astype(bool),
            "in_sequence": info[:, 1].astype(bool),
            "position": info[:, 2].astype(int),
            "odor": np.asarray(ODORS)[odor_codes - 1],
            "sequence_number": info[:, 5].astype(int),
            "poke_duration": info[:, 6],
            "transposition_distance": info[:, 7].astype(int),
            "item_distance": info[:, 8].astype(int),
        },
        index=pd.Index(info[:, 4].astype(int), name="trial"),
    )
    return table


@dataclass(frozen=True)
class _Rat:
    """Published facts about one rat of the data set."""

    name: str  # canonical subject name
    file_stem: str  # stem of the package-data file
    n_units: int  # neurons of the published recording
    window_start: float  # start of the paper's 16 windows, s after odor onset


# Order of the paper (and of the seed streams: rat i always gets stream i + 1).
_RATS = (
    _Rat("Barat", "Barat", 92, 0.25),
    _Rat("Buchanan", "Buchanan", 79, 0.25),
    _Rat("Mitt", "Mitt", 104, 0.5),
    _Rat("Stella", "Stella", 49, 0.5),
    _Rat("SuperChris", "Superchris", 46, 0.25),
)
_BY_KEY = MappingProxyType({rat.name.lower(): rat for rat in _RATS})
_VALID_NAMES = ", ".join(repr(rat.name) for rat in _RATS)


def _rat(subject: object) -> _Rat:
    """The rat named ``subject`` (case-insensitive), or a ValueError naming the valid ones."""
    if not isinstance(subject, str):
        raise TypeError(f"subject must be a string, got {type(subject).__name__}")
    try:
        return _BY_KEY[subject.lower()]
    except KeyError:
        raise ValueError(
            f"unknown subject {subject!r}; valid subjects are {_VALID_NAMES}"
        ) from None


def _subjects(subjects: str | Iterable[str] | None) -> tuple[_Rat, ...]:
    """The rats named by ``subjects`` (all five by default), each at most once."""
    if subjects is None:
        return _RATS
    if isinstance(subjects, str):
        subjects = [subjects]
    rats = tuple(_rat(s) for s in subjects)
    if not rats:
        raise ValueError(f"subjects is empty; choose among {_VALID_NAMES}")
    names = [rat.name for rat in rats]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"subjects lists {', '.join(duplicated)} more than once")
    return rats


def load_trial_info(subject: str) -> pd.DataFrame:
    """Real trial table of one rat of the odor-sequence experiment.

    Parameters
    ----------
    subject : str
        One of ``"Barat"``, ``"Buchanan"``, ``"Mitt"``, ``"Stella"``, ``"SuperChris"``
        (case-insensitive; ``"Superchris"``, the spelling of the data files, works too).

    Returns
    -------
    pandas.DataFrame
        One row per trial, in the order of the session, indexed by ``trial``, with the
        label columns of :func:`trial_table` (``correct``, ``in_sequence``,
        ``position``, ``odor``, ``sequence_number``, ``poke_duration``,
        ``transposition_distance``, ``item_distance``). There are no ``start_time`` or
        ``stop_time`` columns: the published records hold no absolute times.

    Raises
    ------
    ValueError
        If ``subject`` is not one of the five rats.

    Examples
    --------
    >>> from neuromix.datasets import load_trial_info
    >>> trials = load_trial_info("Barat")
    >>> len(trials)
    176
    >>> trials["odor"].value_counts().sort_index().tolist()
    [54, 36, 27, 36, 23]
    >>> len(load_trial_info("superchris"))
    240
    """
    rat = _rat(subject)
    resource = importlib.resources.files(__package__).joinpath(
        "_data", f"{rat.file_stem}_trial_info.npy"
    )
    with resource.open("rb") as handle:
        info = np.load(handle, allow_pickle=False)
    return trial_table(info)
