"""make_population: subjects share one latent space through their own units."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

import neuromix as nm


def test_shapes_labels_and_binned_form():
    data = nm.datasets.make_population(4, n_units=7, n_trials=25, n_conditions=5, seed=1)
    assert list(data) == ["S00", "S01", "S02", "S03"]
    for name, counts in data.items():
        assert counts.dims == ("trial", "unit", "time") and counts.shape == (25, 7, 50)
        assert counts.dtype == np.uint8 and counts.attrs["subject"] == name
        assert sorted(np.unique(counts["condition"].values)) == [f"c{c}" for c in range(5)]
        assert nm.from_xarray(counts).shape == counts.shape  # a valid binned input


def test_a_subject_does_not_depend_on_how_many_are_made():
    few = nm.datasets.make_population(2, n_units=5, n_trials=10, seed=3)
    many = nm.datasets.make_population(6, n_units=5, n_trials=10, seed=3)
    np.testing.assert_array_equal(few["S01"].values, many["S01"].values)


def test_the_condition_is_decodable_from_every_subject():
    data = nm.datasets.make_population(3, n_units=40, n_trials=150, seed=0)
    for counts in data.values():
        late = counts.isel(time=slice(20, None)).sum("time").values  # the response
        y = counts["condition"].values
        acc = cross_val_score(LogisticRegression(max_iter=2000), np.log1p(late), y, cv=3)
        assert acc.mean() > 0.6  # chance 0.2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_subjects": 0}, r"n_subjects must be an integer >= 1, got 0"),
        ({"n_units": 2.5}, r"n_units must be an integer >= 1, got 2.5"),
        ({"n_trials": 3, "n_conditions": 5}, r"n_trials \(3\) must be >= n_conditions \(5\)"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nm.datasets.make_population(**kwargs)
