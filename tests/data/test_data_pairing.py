"""split_trials, select_trials and pair_trials."""

import re

import numpy as np
import pandas as pd
import pytest

from neuromix.data import from_arrays, pair_trials, select_trials, split_trials
from neuromix.datasets.odor_sequence import trial_table


@pytest.fixture
def odors():
    """Three subjects with different odor counts (A: 4/5/4, B: 2/1/3) and trial ids."""
    return {
        "R1": pd.Series(list("AABABA"), index=[5, 1, 2, 3, 4, 0]),
        "R2": pd.Series(list("AAAAAB"), index=np.arange(100, 106)),
        "R3": pd.Series(list("BBBAAAA"), index=np.arange(7)),
    }


def test_min_rule_pairs_first_trials(odors):
    pairs = pair_trials(odors)
    assert list(pairs.columns) == ["R1", "R2", "R3", "condition"]
    assert pairs["condition"].value_counts().to_dict() == {"A": 4, "B": 1}
    a = pairs[pairs.condition == "A"]
    # First trials in trial-id order, the i-th with the i-th.
    assert a["R1"].tolist() == [0, 1, 3, 5]
    assert a["R2"].tolist() == [100, 101, 102, 103]
    assert a["R3"].tolist() == [3, 4, 5, 6]
    b = pairs[pairs.condition == "B"]
    assert b[["R1", "R2", "R3"]].values.tolist() == [[2, 105, 0]]


@pytest.mark.parametrize("rule", ["min", "resample"])
def test_every_row_has_one_condition(odors, rule):
    pairs = pair_trials(odors, rule=rule, rng=1)
    for subject, series in odors.items():
        np.testing.assert_array_equal(series.loc[pairs[subject]].to_numpy(), pairs.condition)


def test_min_rule_count_is_per_condition_minimum(odors):
    pairs = pair_trials(odors)
    for condition, rows in pairs.groupby("condition"):
        assert len(rows) == min((s == condition).sum() for s in odors.values())
        for subject in odors:
            assert rows[subject].is_unique


def test_resample_uses_every_trial_and_changes_with_rng(odors):
    first = pair_trials(odors, rule="resample", rng=np.random.default_rng(0))
    for condition, rows in first.groupby("condition"):
        counts = {s: int((odors[s] == condition).sum()) for s in odors}
        assert len(rows) == max(counts.values())
        for subject, series in odors.items():
            used = rows[subject]
            assert set(used) == set(series.index[series == condition])
            # No trial repeats before every trial of its condition was used.
            assert used.value_counts().max() - used.value_counts().min() <= 1
    draws = [pair_trials(odors, rule="resample", rng=seed) for seed in range(5)]
    assert any(not d.equals(draws[0]) for d in draws[1:])
    pd.testing.assert_frame_equal(pair_trials(odors, rule="resample", rng=3), draws[3])


def test_pairing_within_splits_never_mixes_train_and_test():
    tables = {
        name: trial_table(
            np.column_stack(
                [
                    np.ones(n),
                    np.ones(n),
                    np.ones(n),
                    np.arange(n) % 4 + 1,
                    np.arange(1, n + 1),
                    np.ones((n, 4)),
                ]
            )
        )
        for name, n in (("R1", 40), ("R2", 52), ("R3", 33))
    }
    test = {s: split_trials(t, test_size=0.25, stratify="odor", seed=2) for s, t in tables.items()}
    for rule in ("min", "resample"):
        for part in (False, True):
            conditions = {s: t.odor[test[s] == part] for s, t in tables.items()}
            pairs = pair_trials(conditions, rule=rule, rng=0)
            assert len(pairs) > 0
            for s, t in tables.items():
                assert np.all(test[s][t.index.get_indexer(pairs[s])] == part)


def test_missing_condition(odors):
    odors["R2"] = odors["R2"].replace("B", "C")
    message = (
        "conditions: not every subject has every condition ('B' lacking in ['R2']; "
        "'C' lacking in ['R1', 'R3']); pass missing='drop'"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        pair_trials(odors)
    pairs = pair_trials(odors, missing="drop")
    assert set(pairs.condition) == {"A"}


PAIR_ERRORS = [
    pytest.param(
        {"conditions": {"R1": pd.Series(["A"])}},
        "conditions: pairing needs at least two subjects, got 1 (['R1'])",
        id="one-subject",
    ),
    pytest.param(
        {"conditions": {"R1": pd.Series(["A"]), "R2": ["A"]}},
        "subject 'R2': conditions: expected a pandas Series",
        id="not-series",
    ),
    pytest.param(
        {"conditions": {"R1": pd.Series(["A"]), "R2": pd.Series(["A", None])}},
        "subject 'R2': conditions: missing condition (NaN) for trials [1]",
        id="nan",
    ),
    pytest.param(
        {"conditions": {"R1": pd.Series(["A"]), "R2": pd.Series(["A"])}, "rule": "max"},
        "rule: expected one of ('min', 'resample'), got 'max'",
        id="rule",
    ),
    pytest.param(
        {"conditions": {"R1": pd.Series(["A"]), "R2": pd.Series(["A"])}, "missing": "keep"},
        "missing: expected 'raise' or 'drop', got 'keep'",
        id="missing",
    ),
    pytest.param(
        {"conditions": {"R1": pd.Series(["A"]), "condition": pd.Series(["A"])}},
        "subject 'condition': conditions: 'condition' is reserved",
        id="reserved",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), PAIR_ERRORS)
def test_pair_trials_errors(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        pair_trials(**kwargs)


# --------------------------------------------------------------------------- split, select


@pytest.fixture
def trials():
    n = 60
    return pd.DataFrame(
        {
            "start_time": np.arange(n) * 3.0,
            "stop_time": np.arange(n) * 3.0 + 2.0,
            "odor": np.array(list("ABCD"))[np.arange(n) % 4],
            "correct": np.arange(n) % 3 != 0,
            "in_sequence": np.arange(n) % 5 != 0,
        },
        index=pd.Index(np.arange(1, n + 1), name="trial"),
    )


def test_split_is_stratified_and_deterministic(trials):
    test = split_trials(trials, test_size=0.25, stratify="odor", seed=1)
    assert test.dtype == bool and test.shape == (60,)
    assert test.sum() == 15
    assert trials.odor[test].value_counts().to_dict() == {o: 15 // 4 + (o < "D") for o in "ABCD"}
    again = split_trials(trials, test_size=0.25, stratify="odor", seed=1)
    np.testing.assert_array_equal(test, again)
    assert not np.array_equal(test, split_trials(trials, test_size=0.25, seed=2))


def test_split_accepts_recording(trials):
    rec = from_arrays([trials.start_time.to_numpy() + 0.1], trials, subject="R1")
    np.testing.assert_array_equal(split_trials(rec, seed=4), split_trials(trials, seed=4))
    with pytest.raises(ValueError, match=re.escape("subject 'R1': stratify: no column 'x'")):
        split_trials(rec, stratify="x")
    with pytest.raises(ValueError, match=re.escape("subject 'R1': split_trials: ")):
        split_trials(rec, test_size=2.0)


def test_select_trials(trials):
    where = {"correct": True, "in_sequence": True, "odor": ["A", "B", "C", "D"]}
    selected = select_trials(trials, where)
    expected = trials[trials.correct & trials.in_sequence]
    pd.testing.assert_frame_equal(selected, expected)
    only_a = select_trials(trials, {"odor": "A"})
    assert set(only_a.odor) == {"A"} and len(only_a) == 15
    assert len(select_trials(trials, {"odor": ("A", "B")})) == 30
    assert select_trials(trials, {}).equals(trials)


def test_select_trials_names_subject_and_column(trials):
    rec = from_arrays([trials.start_time.to_numpy() + 0.1], trials, subject="Mitt")
    with pytest.raises(ValueError, match=re.escape("subject 'Mitt': position: no such column")):
        select_trials(rec, {"position": 1})
    with pytest.raises(ValueError, match=re.escape("subject 'R5': position: no such column")):
        select_trials(trials, {"position": 1}, subject="R5")
    with pytest.raises(TypeError, match=re.escape("subject 'R5': where: expected a mapping")):
        select_trials(trials, ["odor"], subject="R5")


def test_string_trial_ids_keep_their_dtype():
    # read_nwb gives string trial ids pandas' str dtype
    a = pd.Series(["A", "B", "A"], index=pd.Index(["t1", "t2", "t3"], dtype="str"))
    b = pd.Series(["A", "A", "B"], index=pd.Index(["u1", "u2", "u3"], dtype="str"))
    for rule in ("min", "resample"):
        pairs = pair_trials({"R1": a, "R2": b}, rule=rule, rng=0)
        assert pairs["R1"].dtype == a.index.dtype
        assert set(pairs["R1"]) <= set(a.index) and set(pairs["R2"]) <= set(b.index)
        assert (a.loc[pairs["R1"]].to_numpy() == pairs["condition"].to_numpy()).all()
