"""Trial tables of the rat odor-sequence experiment (the published ``trial_info`` arrays)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ODORS", "trial_table"]

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
