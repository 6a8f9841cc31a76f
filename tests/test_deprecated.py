"""Names renamed for "one word, one meaning" (CHANGELOG, 0.3): the old names still work
for one release, with a DeprecationWarning that names the new one."""

import numpy as np
import pytest
import torch

import neuromix as nm
from neuromix.models import get_method

FAST = {"epochs": 2, "batch_size": 64, "latent_dim": 2, "progress": False, "seed": 0}


@pytest.fixture(scope="module")
def rec():
    return nm.datasets.simulate_odor_sequence(seed=0, n_trials=30, n_units=6)


@pytest.fixture(scope="module")
def model(rec):
    return nm.fit(rec, subject_dim="rat", pairing="min", **FAST)


def test_latents_n_samples_is_the_old_name_of_n_draws(model):
    new = model.latents(sample=True, n_draws=2, seed=5)
    with pytest.warns(DeprecationWarning, match=r"'n_samples' is deprecated.*use 'n_draws'"):
        old = model.latents(sample=True, n_samples=2, seed=5)
    np.testing.assert_array_equal(old.values, new.values)
    with pytest.raises(TypeError, match=r"NeuralModel.latents: give 'n_draws' only"):
        model.latents(sample=True, n_samples=2, n_draws=3)


def test_transform_n_samples_is_the_old_name_of_n_draws(model, rec):
    one = {"Barat": rec["Barat"]}
    new = model.transform(one, sample=True, n_draws=2, seed=5)
    with pytest.warns(DeprecationWarning, match=r"NeuralModel.transform: 'n_samples'"):
        old = model.transform(one, sample=True, n_samples=2, seed=5)
    np.testing.assert_array_equal(old.values, new.values)


def test_mmvm_n_samples_is_the_old_name_of_n_draws():
    with pytest.warns(DeprecationWarning, match=r"MMVM: 'n_samples' is deprecated"):
        old = get_method("mmvm", estimator="mc", n_samples=3)
    assert (
        old.n_draws == 3 and old.config() == get_method("mmvm", estimator="mc", n_draws=3).config()
    )


def test_module_decode_is_the_old_name_of_likelihood_params(model):
    module = model.vae_.module_
    z = torch.zeros(4, 2)
    with pytest.warns(DeprecationWarning, match=r"decode is deprecated.*likelihood_params"):
        old = module.decode(z, subjects=[1])
    new = module.likelihood_params(z, subjects=[1])
    torch.testing.assert_close(old[1], new[1], rtol=0, atol=0)
    assert old[0] is None and new[0] is None


def test_write_nwb_is_the_old_name_of_write_recording(rec, tmp_path):
    with pytest.warns(DeprecationWarning, match=r"write_nwb is deprecated.*write_recording"):
        path = nm.write_nwb(rec["Mitt"], tmp_path / "old.nwb")
    back = nm.read_nwb([path])["Mitt"]
    assert back.n_units == rec["Mitt"].n_units
    assert "write_nwb" not in nm.__all__ and "write_recording" in nm.__all__
