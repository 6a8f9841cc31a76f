"""``link="auto"``: the Poisson link chosen from the data, as beta is.

Both links of ``LINK_GRID`` are candidates beside each beta, in the same ensemble and
by the same validation criterion. Checked against separate fits at each link (the
ensemble's candidates equal them), against the criterion's argmin, through save and
load, and where no criterion is read (the documented softplus).
"""

import numpy as np
import pytest
import torch
from torch.nn.utils import parameters_to_vector

import neuromix as nm
from neuromix.estimators.vae import LINK_GRID

FAST = {"progress": False, "batch_size": 64, "subject_dim": "rat"}


@pytest.fixture(scope="module")
def chosen(three_rats):
    # one beta, two links: the record's candidates are the two links (halving off, so
    # that each trains as its separate fit would)
    return nm.fit(three_rats, beta=2.0, epochs=6, patience=3, min_epochs=0, seed=1, halving=False,
                  link="auto", **FAST)  # fmt: skip


def test_each_link_is_its_separate_fit_and_the_best_criterion_is_kept(chosen, three_rats):
    vae = chosen.vae_
    sel = vae.beta_selection_
    assert sel["link"].values.tolist() == list(LINK_GRID) == ["softplus", "exp"]
    scores = sel["link_score"].sel(beta=2.0).values
    assert np.isfinite(scores).all()
    best = LINK_GRID[int(np.argmin(scores))]
    assert vae.link_ == best == sel.attrs["chosen_link"] == str(sel["kept_link"].values[0])
    assert all(lik.config() == {"name": "poisson", "link": best}
               for lik in vae.likelihoods_.values())  # fmt: skip
    assert [lik.link for lik in vae.module_.likelihoods] == [best] * 3
    trained = int(sel["epochs_trained"].values[0])
    for link, score in zip(LINK_GRID, scores, strict=True):
        single = nm.fit(three_rats, beta=2.0, epochs=trained, patience=3, min_epochs=0, seed=1,
                        link=link, **FAST)  # fmt: skip
        assert single.vae_.beta_selection_ is None and single.vae_.link_ == link
        assert float(single.history_["val_decode"].min()) == pytest.approx(score, rel=1e-4)
        if link == best:
            assert torch.allclose(
                parameters_to_vector(vae.module_.parameters()),
                parameters_to_vector(single.vae_.module_.parameters()),
                atol=1e-4,
            )


def test_the_chosen_link_survives_save_and_load(chosen, tmp_path):
    back = nm.load(chosen.save(tmp_path / "m.nmx"))
    assert back.vae_.link_ == chosen.vae_.link_
    assert [lik.link for lik in back.vae_.module_.likelihoods] == [chosen.vae_.link_] * 3
    np.testing.assert_array_equal(back.latents().values, chosen.latents().values)
    # the decoded rates go through the link: equal only if the link was restored
    z = np.zeros((2, 2))
    for s in chosen.subjects_:
        np.testing.assert_array_equal(
            back.vae_.likelihood_mean(z, [s])[s], chosen.vae_.likelihood_mean(z, [s])[s]
        )


def test_the_rates_follow_the_link(three_rats):
    """A decoder output eta gives the rate link(eta), by hand."""
    model = nm.fit(three_rats, beta=1.0, epochs=1, patience=None, link="exp", **FAST)
    vae = model.vae_
    z = torch.zeros(1, 2)
    with torch.no_grad():
        eta = vae.module_.likelihood_params(z, subjects=[0])[0]
    rate = vae.likelihood_mean(np.zeros((1, 2)), [model.subjects_[0]])[model.subjects_[0]]
    np.testing.assert_allclose(rate.reshape(-1), np.exp(eta.numpy()).reshape(-1), rtol=1e-6)


def test_a_fit_that_reads_no_criterion_trains_softplus(three_rats):
    # a fixed beta without early stopping, and no validation trials: nothing to choose by
    fixed = nm.fit(three_rats, beta=1.0, epochs=1, patience=None, link="auto", **FAST)
    none = nm.fit(three_rats, beta=1.0, epochs=1, patience=None, validation_size=0.0, link="auto",
                  **FAST)  # fmt: skip
    for model in (fixed, none):
        assert model.vae_.link_ == "softplus" and model.vae_.beta_selection_ is None
        assert [lik.link for lik in model.vae_.module_.likelihoods] == ["softplus"] * 3


def test_a_likelihood_that_names_its_link_keeps_it(three_rats):
    model = nm.fit(three_rats, beta=1.0, epochs=2, patience=1, min_epochs=0, link="auto",
                   likelihood={"name": "poisson", "link": "exp"}, **FAST)  # fmt: skip
    # no subject's link is link's: nothing chosen, one candidate
    assert model.vae_.link_ is None and model.vae_.beta_selection_ is None
    assert [lik.link for lik in model.vae_.module_.likelihoods] == ["exp"] * 3


def test_an_added_subject_takes_the_fitted_link(three_rats):
    first = {s: three_rats[s] for s in ("Barat", "Buchanan")}
    model = nm.fit(first, beta=1.0, epochs=2, patience=None, link="exp", **FAST)
    model.add_subject({"Stella": three_rats["Stella"]})
    assert [lik.link for lik in model.vae_.module_.likelihoods] == ["exp"] * 3
    assert model.vae_.likelihoods_["Stella"].link == "exp"


def test_an_added_subject_of_an_auto_model_that_chose_nothing_takes_softplus(three_rats):
    # every fitted subject names its link: link="auto" chose nothing (link_ is None)
    first = {s: three_rats[s] for s in ("Barat", "Buchanan")}
    model = nm.fit(first, beta=1.0, epochs=2, patience=None, link="auto",
                   likelihood={"name": "poisson", "link": "exp"}, **FAST)  # fmt: skip
    assert model.vae_.link_ is None
    model.add_subject({"Stella": three_rats["Stella"]}, likelihood="poisson")
    assert model.vae_.likelihoods_["Stella"].link == "softplus"  # the grid's first
    assert [lik.link for lik in model.vae_.module_.likelihoods] == ["exp", "exp", "softplus"]


def test_multimodal_vae_chooses_the_link_of_its_poisson_views():
    rng = np.random.default_rng(0)
    X = {s: rng.poisson(2.0, size=(120, 5)).astype(np.float32) for s in ("a", "b")}
    y = np.repeat([0, 1], 60)
    vae = nm.MultimodalVAE(likelihood="poisson", link="auto", beta=[1.0, 4.0], epochs=3,
                           patience=2, min_epochs=0, criterion="decode", progress=False,
                           batch_size=32).fit(X, y)  # fmt: skip
    sel = vae.beta_selection_
    assert sel["link_score"].dims == ("beta", "link") and sel["link_score"].shape == (2, 2)
    assert vae.link_ in LINK_GRID
    # the defaults stay the softplus link (docs/model.md, "The Poisson link")
    assert nm.MultimodalVAE().link == nm.NeuralModel().link == "softplus"


def test_each_link_is_halved_in_its_own_bracket(three_rats, monkeypatch):
    """Successive halving culls within a link's candidates, never across links."""
    import neuromix.estimators.vae as vae_module

    made = []

    class Spy(vae_module.EarlyStopping):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(vae_module, "EarlyStopping", Spy)
    model = nm.fit(three_rats, epochs=5, patience=3, min_epochs=2, link="auto", **FAST)
    (stop,) = made
    assert stop.halving and stop.brackets == [0, 0, 0, 1, 1, 1]  # betas 1, 4, 16 per link
    # one of three culled per bracket after 2 epochs, one more of the two left after 4
    culled = [c is not None for c in stop.culled]
    assert sum(culled[:3]) == sum(culled[3:]) == 2
    assert model.link_ in LINK_GRID


@pytest.mark.parametrize("bad", ["relu", None, 1])
def test_bad_link_is_refused_naming_the_parameter(three_rats, bad):
    with pytest.raises(ValueError, match="link"):
        nm.fit(three_rats, link=bad, epochs=1, **FAST)


def test_brackets_must_name_one_bracket_per_model():
    from neuromix.training.early_stopping import EarlyStopping

    with pytest.raises(ValueError, match=r"brackets: one per model \(3\), got 2"):
        EarlyStopping(3, patience=1, monitor="val_loss", halving=True, brackets=[0, 1])
