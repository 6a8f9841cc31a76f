"""NeuralModel.cross_prediction: its layout, and the inputs it refuses."""

import numpy as np
import pytest

import neuromix as nm

FAST = {"progress": False, "batch_size": 64, "beta": 1.0, "patience": None, "epochs": 2}


@pytest.fixture(scope="module")
def rec():
    return nm.datasets.simulate_odor_sequence(
        seed=0, n_trials=24, n_units=5, subjects=("Barat", "Buchanan", "Stella")
    )


def test_layout_and_the_diagonal_is_each_rats_own_reconstruction(rec):
    model = nm.fit(rec, subject_dim="rat", **FAST)
    ds = model.cross_prediction(n_boot=10)
    assert ds.bits_per_spike.dims == ("source_rat", "target_rat")
    assert ds.bits_per_spike_ci.dims == ("source_rat", "target_rat", "bound")
    assert list(ds.target_rat.values) == list(model.subjects_)
    assert ds.psth.dims == ("target_rat",) and np.isfinite(ds.psth).all()
    np.testing.assert_allclose(ds.fraction, ds.bits_per_spike / ds.psth)
    low, high = ds.bits_per_spike_ci.sel(bound="low"), ds.bits_per_spike_ci.sel(bound="high")
    assert bool((low <= high).all())
    assert ds.attrs["unit"] == "bits per spike"
    fig = model.plot_cross_prediction()
    assert len(fig.axes) >= 2
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_refuses_a_non_poisson_model_and_a_bad_n_boot(rec):
    model = nm.fit(rec, subject_dim="rat", likelihood="gaussian", **FAST)
    with pytest.raises(ValueError, match=r"subject 'Barat': .* likelihood is 'gaussian'"):
        model.cross_prediction()
    poisson = nm.fit(rec, subject_dim="rat", **FAST)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="n_boot: expected a non-negative integer"):
            poisson.cross_prediction(n_boot=bad)
    with pytest.raises(ValueError, match="label"):
        poisson.cross_prediction("no-such-label")
