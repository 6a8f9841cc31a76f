"""The registries of methods, likelihoods and architectures, and names registered later."""

import numpy as np
import pytest
import torch

import neuromix as nm
from neuromix._registry import Registry
from neuromix.models.architectures import ARCHITECTURES, architectures
from neuromix.models.likelihoods import LIKELIHOODS, Likelihood, get_likelihood, likelihoods
from neuromix.models.methods import Avg
from neuromix.models.registry import unregister


def test_registry_builds_by_name_in_registration_order():
    reg = Registry("widget")
    reg.register(dict, name="plain")

    @reg.register
    class Fancy:
        name = "fancy"

        def __init__(self, size=1):
            self.size = size

    assert reg.available() == ("plain", "fancy") and list(reg) == ["plain", "fancy"]
    assert "fancy" in reg and "other" not in reg and 3 not in reg and len(reg) == 2
    assert reg.get("fancy", size=3).size == 3 and reg.lookup("plain") is dict
    assert reg.unregister("plain") is dict and reg.available() == ("fancy",)


def test_registry_refuses_unknown_empty_and_duplicate_names():
    reg = Registry("widget")
    reg.register(dict, name="plain")
    with pytest.raises(ValueError, match=r"^unknown widget 'x'; available: plain$"):
        reg.get("x")
    with pytest.raises(ValueError, match=r"unknown widget None"):
        reg.get(None)
    with pytest.raises(ValueError, match="already registered"):
        reg.register(list, name="plain")
    with pytest.raises(ValueError, match="non-empty string name"):
        reg.register(list)
    with pytest.raises(ValueError, match="unknown widget 'x'"):
        reg.unregister("x")


def test_the_three_registries_hold_the_built_in_parts():
    assert nm.models.available() == ("independent", "avg", "poe", "moe", "mopoe", "mmvm")
    assert likelihoods() == ("gaussian", "laplace", "poisson", "bernoulli", "categorical")
    assert architectures() == ("auto", "mlp", "paper-mlp", "image", "conv", "text")
    assert ARCHITECTURES.available() == architectures()[1:]


@pytest.mark.parametrize("name", likelihoods())
def test_every_likelihood_round_trips_its_config_and_scores_its_mean(name):
    options = {"n_classes": 3} if name == "categorical" else {}
    lik = get_likelihood({"name": name, **options})
    assert isinstance(lik, Likelihood) and lik.name == name
    again = get_likelihood(lik.config())
    assert type(again) is type(lik) and again.config() == lik.config()
    shape = (4,)
    params = torch.zeros(2, *lik.n_params(shape))
    assert torch.isfinite(lik.mean(params)).all()
    x = torch.zeros(2, *shape, dtype=lik.data_dtype())  # in every support
    lik.check(x.numpy(), "s")
    nll = lik.nll(params, x)
    assert nll.shape == (2,) and torch.isfinite(nll).all()


def test_unknown_likelihood_lists_the_registry():
    with pytest.raises(ValueError, match=r"unknown likelihood 'gamma'; available: gaussian, "):
        get_likelihood("gamma")


class Mine(Avg):
    """AVG under another name: a method a user registers after import."""

    name = "mine"


@pytest.fixture
def mine():
    nm.models.register(Mine)
    yield "mine"
    unregister("mine")


def test_a_method_registered_later_is_accepted_by_the_estimator(mine):
    assert mine in nm.models.available()
    X, _ = nm.datasets.make_multiview(n_samples=60, seed=0)
    vae = nm.MultimodalVAE(method=mine, epochs=1, batch_size=32, progress=False).fit(X)
    assert isinstance(vae.method_, Mine) and np.isfinite(vae.history_["loss"]).all()


def test_a_method_registered_later_passes_nm_fit_validation(mine):
    rec = nm.datasets.simulate_odor_sequence(seed=0, n_trials=40, n_units=6)
    sub = {s: rec[s] for s in list(rec)[:2]}
    model = nm.fit(sub, subject_dim="rat", method=mine, epochs=1, batch_size=32, progress=False)
    assert isinstance(model.vae_.method_, Mine)


def test_an_unregistered_method_is_refused_again(mine):
    unregister(mine)
    try:
        with pytest.raises(ValueError, match=r"method must be one of 'independent'.*got 'mine'"):
            nm.MultimodalVAE(method=mine, epochs=1, batch_size=32, progress=False).fit(
                nm.datasets.make_multiview(n_samples=60, seed=0)[0]
            )
        with pytest.raises(ValueError, match=r"method must be one of 'independent'.*got 'mine'"):
            nm.fit({}, method=mine)
    finally:
        nm.models.register(Mine)


def test_a_likelihood_registered_later_is_accepted():
    @LIKELIHOODS.register
    class Squared(type(get_likelihood("gaussian"))):
        name = "squared"

    try:
        X, _ = nm.datasets.make_multiview(n_samples=60, seed=0)
        vae = nm.MultimodalVAE(likelihood="squared", epochs=1, batch_size=32, progress=False)
        vae.fit(X)
        assert all(isinstance(lik, Squared) for lik in vae.module_.likelihoods)
    finally:
        LIKELIHOODS.unregister("squared")
    assert "squared" not in likelihoods()
