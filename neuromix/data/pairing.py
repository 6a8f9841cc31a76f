"""Train/test split by trial, trial selection, and pairing of trials across subjects.

Subjects did not do their trials at the same time, so a multimodal sample is a tuple of
one trial per subject with the same condition (e.g. the odor); windows are then paired
by window index. The order of operations (DESIGN.md, section 2) is:

1. per subject, :func:`select_trials` (e.g. correct in-sequence trials of odors A-D);
2. per subject, :func:`split_trials` into train and test trials, by trial;
3. :func:`pair_trials` separately on the train trials and on the test trials of all
   subjects, so that a pair never mixes a train trial with a test trial.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from neuromix.data._checks import _prefix
from neuromix.data.recording import Recording

__all__ = ["PAIRING_RULES", "pair_trials", "select_trials", "split_trials"]

#: Pairing rules of :func:`pair_trials`.
PAIRING_RULES = ("min", "resample")


def _table_and_subject(
    trials: pd.DataFrame | Recording, subject: str | None
) -> tuple[pd.DataFrame, str | None]:
    if isinstance(trials, Recording):
        return trials.trials, subject if subject is not None else trials.subject
    if not isinstance(trials, pd.DataFrame):
        raise TypeError(
            f"{_prefix(subject)}trials: expected a pandas.DataFrame or a Recording, "
            f"got {type(trials).__name__}"
        )
    if subject is None and trials.attrs.get("subject") is not None:
        subject = str(trials.attrs["subject"])
    return trials, subject


def split_trials(
    trials: pd.DataFrame | Recording,
    *,
    test_size: float = 0.2,
    stratify: str | None = None,
    seed: int = 0,
    subject: str | None = None,
) -> np.ndarray:
    """Choose held-out test trials of one subject, by trial.

    Parameters
    ----------
    trials : pandas.DataFrame or Recording
        The subject's trial table (one row per trial), or its recording.
    test_size : float or int, default 0.2
        Fraction (or number) of trials held out, as in
        :func:`sklearn.model_selection.train_test_split`.
    stratify : str, optional
        Label column to stratify by (e.g. ``"odor"``), so every condition keeps the
        same proportion of test trials.
    seed : int, default 0
        Seed of the split; the same seed gives the same split.
    subject : str, optional
        Name used in error messages (taken from a Recording or ``trials.attrs``).

    Returns
    -------
    numpy.ndarray of bool, shape (n_trials,)
        True for test trials, in the row order of the table.

    Examples
    --------
    >>> import pandas as pd
    >>> trials = pd.DataFrame({"odor": list("AABBAABBAB")})
    >>> test = split_trials(trials, test_size=0.4, stratify="odor", seed=0)
    >>> int(test.sum()), trials.odor[test].value_counts().to_dict()
    (4, {'A': 2, 'B': 2})
    """
    table, subject = _table_and_subject(trials, subject)
    pre = _prefix(subject)
    labels = None
    if stratify is not None:
        if stratify not in table.columns:
            raise ValueError(
                f"{pre}stratify: no column {stratify!r} in the trial table "
                f"(columns: {list(table.columns)})"
            )
        labels = table[stratify].to_numpy()
    positions = np.arange(len(table))
    try:
        _, test = train_test_split(
            positions, test_size=test_size, stratify=labels, random_state=seed
        )
    except ValueError as error:
        advice = ""
        if labels is not None:
            advice = (
                f" ({len(table)} trials, {len(set(labels))} {stratify} conditions: every "
                "condition needs a trial on each side; raise test_size, use more trials or "
                "fewer conditions)"
            )
        raise ValueError(f"{pre}split_trials: {error}{advice}") from None
    mask = np.zeros(len(table), dtype=bool)
    mask[test] = True
    return mask


def select_trials(
    trials: pd.DataFrame | Recording,
    where: Mapping[str, Any],
    *,
    subject: str | None = None,
) -> pd.DataFrame:
    """Keep the trials whose labels match every condition of ``where``.

    Parameters
    ----------
    trials : pandas.DataFrame or Recording
        The subject's trial table, or its recording.
    where : mapping of column name to a value or a list of values
        ``{"correct": True, "odor": ["A", "B", "C", "D"]}`` keeps correct trials of
        odors A-D. A list (or tuple, set, array) means "any of these".
    subject : str, optional
        Name used in error messages (taken from a Recording or ``trials.attrs``).

    Returns
    -------
    pandas.DataFrame
        A copy of the matching rows (index = trial ids). Select binned data with
        ``counts.sel(trial=selected.index)``.

    Examples
    --------
    >>> import pandas as pd
    >>> trials = pd.DataFrame({"odor": ["A", "B", "E", "A"], "correct": [True, True, True, False]})
    >>> select_trials(trials, {"correct": True, "odor": ["A", "B", "C", "D"]}).index.tolist()
    [0, 1]
    """
    table, subject = _table_and_subject(trials, subject)
    if not isinstance(where, Mapping):
        raise TypeError(
            f"{_prefix(subject)}where: expected a mapping of column to value(s), "
            f"got {type(where).__name__}"
        )
    keep = np.ones(len(table), dtype=bool)
    for column, wanted in where.items():
        if column not in table.columns:
            raise ValueError(
                f"{_prefix(subject)}{column}: no such column in the trial table "
                f"(columns: {list(table.columns)})"
            )
        values = table[column]
        if isinstance(wanted, (list, tuple, set, frozenset, np.ndarray, pd.Index)):
            keep &= values.isin(list(wanted)).to_numpy()
        else:
            keep &= (values == wanted).to_numpy(dtype=bool)
    return table.loc[keep].copy()


def _keep_shared_conditions(
    trials: Mapping[str, pd.DataFrame], label: str, missing: str = "raise"
) -> dict[str, pd.DataFrame]:
    """Per subject, the trials of the conditions (values of ``label``) every subject has.

    A condition lacking in some subjects raises with ``missing="raise"`` (and more than
    one subject) and is dropped otherwise. Shared by :func:`neuromix.fit` and
    :func:`neuromix.response_onset`, so that both keep the same trials.
    """
    present = {s: set(t[label].unique()) for s, t in trials.items()}
    shared = set.intersection(*present.values())
    lacking = {
        c: [s for s in trials if c not in present[s]]
        for c in set.union(*present.values()) - shared
    }
    if not shared:
        listing = "; ".join(
            f"{s!r}: {', '.join(map(repr, sorted(p, key=str)))}" for s, p in present.items()
        )
        raise ValueError(
            f"label {label!r}: the subjects have no condition in common ({listing}); "
            "there is nothing to pair"
        )
    if lacking and missing == "raise" and len(trials) > 1:
        details = "; ".join(f"{c!r} missing in {lacking[c]}" for c in sorted(lacking, key=str))
        raise ValueError(
            f"label {label!r}: not every subject has every condition ({details}); "
            "pass missing='drop' to drop these conditions, or filter with where="
        )
    if lacking:
        return {s: t[t[label].isin(shared)] for s, t in trials.items()}
    return dict(trials)


def _condition_series(conditions: Mapping[str, Any]) -> dict[str, pd.Series]:
    if not isinstance(conditions, Mapping):
        raise TypeError(
            "conditions: expected a mapping of subject to a pandas Series of conditions "
            f"indexed by trial id, got {type(conditions).__name__}"
        )
    if len(conditions) < 2:
        raise ValueError(
            f"conditions: pairing needs at least two subjects, got {len(conditions)} "
            f"({list(conditions)})"
        )
    series = {}
    for subject, values in conditions.items():
        pre = _prefix(str(subject))
        if str(subject) == "condition":
            raise ValueError(f"{pre}conditions: 'condition' is reserved for the label column")
        if not isinstance(values, pd.Series):
            raise TypeError(
                f"{pre}conditions: expected a pandas Series (index = trial ids, value = "
                f"condition), got {type(values).__name__}"
            )
        if values.isna().any():
            ids = values.index[values.isna().to_numpy()].tolist()[:5]
            raise ValueError(f"{pre}conditions: missing condition (NaN) for trials {ids}")
        if values.index.has_duplicates:
            raise ValueError(f"{pre}conditions: duplicated trial ids")
        # Trial order = order of the trial ids.
        series[str(subject)] = values.sort_index(kind="stable")
    return series


def _sorted_conditions(values: set[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=repr)


def pair_trials(
    conditions: Mapping[str, pd.Series],
    *,
    rule: str = "min",
    rng: int | np.random.Generator | None = None,
    missing: str = "raise",
) -> pd.DataFrame:
    """Pair trials of several subjects that share a condition.

    Parameters
    ----------
    conditions : mapping of str to pandas.Series
        Per subject, the condition of each trial (e.g. ``trials["odor"]``), indexed by
        trial id. Pass only the trials to pair: the train trials, or the test trials.
    rule : {"min", "resample"}, default "min"
        ``"min"`` (the paper): per condition, ``n`` = the smallest trial count over
        subjects; each subject's first ``n`` trials (in trial-id order) are paired, the
        i-th with the i-th. ``"resample"``: every trial is used; per condition ``n`` =
        the largest count; each subject contributes a random permutation of its trials,
        extended by further permutations (no trial repeats before all were used) to
        length ``n``. Call again with a new ``rng`` every epoch for a new pairing.
    rng : int or numpy.random.Generator, optional
        Randomness of ``"resample"`` (ignored by ``"min"``).
    missing : {"raise", "drop"}, default "raise"
        What to do with a condition that some subjects lack.

    Returns
    -------
    pandas.DataFrame
        One row per paired tuple: one column per subject (its trial id) and a column
        ``condition``; rows grouped by condition (sorted), pairs in order within.
        Windows are then paired by window index.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.Series(["A", "B", "A", "A"], index=[1, 2, 3, 4])
    >>> b = pd.Series(["A", "A", "B", "B"], index=[10, 11, 12, 13])
    >>> pair_trials({"R1": a, "R2": b})
       R1  R2 condition
    0   1  10         A
    1   3  11         A
    2   2  12         B
    >>> len(pair_trials({"R1": a, "R2": b}, rule="resample", rng=0))
    5
    """
    if rule not in PAIRING_RULES:
        raise ValueError(f"rule: expected one of {PAIRING_RULES}, got {rule!r}")
    if missing not in ("raise", "drop"):
        raise ValueError(f"missing: expected 'raise' or 'drop', got {missing!r}")
    series = _condition_series(conditions)
    subjects = list(series)
    present = {s: set(v.unique()) for s, v in series.items()}
    every = set.union(*present.values())
    shared = set.intersection(*present.values())
    lacking = {c: [s for s in subjects if c not in present[s]] for c in every - shared}
    if lacking and missing == "raise":
        details = "; ".join(
            f"{c!r} lacking in {lacking[c]}" for c in _sorted_conditions(set(lacking))
        )
        raise ValueError(
            f"conditions: not every subject has every condition ({details}); pass "
            "missing='drop' to pair only the conditions all subjects share"
        )
    generator = np.random.default_rng(rng) if rule == "resample" else None

    columns: dict[str, list[np.ndarray]] = {s: [] for s in subjects}
    labels: list[np.ndarray] = []
    for condition in _sorted_conditions(shared):
        ids = {s: series[s].index[(series[s] == condition).to_numpy()] for s in subjects}
        counts = [len(ids[s]) for s in subjects]
        if rule == "min":
            n = min(counts)
            chosen = {s: np.asarray(ids[s][:n]) for s in subjects}
        else:
            n = max(counts)
            chosen = {}
            for s in subjects:
                own = np.asarray(ids[s])
                rounds = -(-n // len(own))
                order = np.concatenate([generator.permutation(len(own)) for _ in range(rounds)])
                chosen[s] = own[order[:n]]
        for s in subjects:
            columns[s].append(chosen[s])
        labels.append(np.full(n, condition, dtype=object))

    data = {}
    for s in subjects:
        # a pandas Series keeps the ids' own dtype, numpy or pandas' extension dtypes
        # alike (string trial ids read from NWB are pandas' ``str`` dtype)
        values = np.concatenate(columns[s]) if columns[s] else np.array([], dtype=object)
        data[s] = pd.Series(values, dtype=series[s].index.dtype)
    label_dtype = next(iter(series.values())).dtype
    condition = np.concatenate(labels) if labels else np.array([], dtype=object)
    data["condition"] = pd.Series(condition, dtype=object).astype(label_dtype)
    return pd.DataFrame(data)
