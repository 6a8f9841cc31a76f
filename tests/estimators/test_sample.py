"""NeuralModel.sample: synthetic trials laid out as the real windows, and bad input."""

import numpy as np
import pytest

import neuromix as nm

FAST = {"progress": False, "batch_size": 64, "beta": 1.0, "patience": None, "epochs": 2}


@pytest.fixture(scope="module")
def model():
    rec = nm.datasets.simulate_odor_sequence(
        seed=0, n_trials=24, n_units=5, subjects=("Barat", "Buchanan", "Stella")
    )
    return nm.fit(rec, subject_dim="rat", **FAST)


def test_layout_is_that_of_the_windows(model):
    out = model.sample(condition=["A", "B"], n=3, seed=0)
    real = model.windows()
    assert out.dims == ("sample", "feature") and out.sizes["feature"] == real.sizes["feature"]
    w = model.n_windows_
    assert out.sizes["sample"] == len(model.subjects_) * 2 * 3 * w
    one = out.sel(rat="Barat")
    assert sorted(set(one["odor"].values)) == ["A", "B"]
    assert (one["split"].values == "synthetic").all()
    np.testing.assert_allclose(
        np.unique(one["time"].values), np.unique(real.sel(rat="Barat")["time"].values)
    )
    counts = one.dropna("feature", how="all").values
    assert (counts >= 0).all() and np.array_equal(counts, np.round(counts))
    rates = model.sample(condition="A", n=2, seed=0, counts=False).sel(rat="Barat")
    assert not np.array_equal(rates.values, np.round(rates.values))
    # the same seed, the same trials
    again = model.sample(condition=["A", "B"], n=3, seed=0)
    np.testing.assert_array_equal(again.values, out.values)


def test_refuses_unknown_conditions_and_bad_counts(model):
    with pytest.raises(ValueError, match="condition: \\['Z'\\] not among the odor conditions"):
        model.sample(condition="Z")
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="n: expected a positive integer"):
            model.sample(n=bad)
    with pytest.raises(TypeError, match="counts: expected True or False"):
        model.sample(counts="yes")
    with pytest.raises(ValueError, match="subject 'Nobody' is not one of the fitted"):
        model.plot_sample_psth("Nobody")
