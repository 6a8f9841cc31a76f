"""neuromix.fit on recordings: the data path through the model, results as xarray."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import neuromix as nm

FAST = {"epochs": 2, "progress": False, "batch_size": 64}


@pytest.fixture(scope="module")
def rec():
    return nm.datasets.simulate_odor_sequence(seed=0, n_trials=40, n_units=8)


@pytest.fixture(scope="module")
def model(rec):
    return nm.fit(rec, subject_dim="rat", pairing="min", **FAST)


def test_windows_and_pairing_follow_the_paper(model, rec):
    assert model.n_windows_ == 16
    assert model.starts_ == {
        "Barat": 0.25,
        "Buchanan": 0.25,
        "Mitt": 0.5,
        "Stella": 0.5,
        "SuperChris": 0.25,
    }
    assert model.stops_["Mitt"] == pytest.approx(0.75)
    for s in model.subjects_:
        c = model.counts_[s]
        assert c.dims == ("trial", "unit", "time") and c.sizes["time"] == 25
        assert c.sizes["unit"] == 8
    # "min" pairing: per odor, the smallest training-trial count over rats
    train = model.pairs_["train"]
    for odor, group in train.groupby("condition"):
        counts = [
            int(((model.counts_[s].odor.values == odor) & model._part(s, "train")).sum())
            for s in model.subjects_
        ]
        assert len(group) == min(counts)


def test_pairs_share_labels_and_never_mix_train_and_test(model):
    for split, pairs in model.pairs_.items():
        for s in model.subjects_:
            c = model.counts_[s]
            odor = pd.Series(c.odor.values, index=c.trial.values)
            is_test = pd.Series(model.test_[s], index=c.trial.values)
            assert (odor.loc[pairs[s]].to_numpy() == pairs["condition"].to_numpy()).all()
            assert (is_test.loc[pairs[s]].to_numpy() == (split == "test")).all()


def test_split_is_by_trial_and_stratified(model):
    for s in model.subjects_:
        test = model.test_[s]
        assert 0.1 < test.mean() < 0.35
        odors = model.counts_[s].odor.values
        assert set(odors[test]) <= set(odors)


def test_latents_are_labelled_xarray(model):
    lat = model.latents()
    assert lat.dims == ("sample", "latent")
    n = sum(model.counts_[s].sizes["trial"] for s in model.subjects_) * 16
    assert lat.sizes == {"sample": n, "latent": 2}
    mitt = lat.sel(rat="Mitt")
    assert mitt.sizes["sample"] == model.counts_["Mitt"].sizes["trial"] * 16
    np.testing.assert_allclose(np.unique(mitt.time), 0.5 + 0.01 * np.arange(16))
    assert set(np.unique(lat.split)) == {"train", "test"}
    means = lat.groupby("odor").mean()
    assert set(means.odor.values) == {"A", "B", "C", "D", "E"}
    assert np.isfinite(lat.values).all()
    cube = lat.unstack("sample")
    assert set(cube.dims) == {"rat", "trial", "window", "latent"}
    draws = model.latents(sample=True, n_draws=3)
    assert draws.dims == ("draw", "sample", "latent") and draws.sizes["draw"] == 3


def test_latents_match_the_array_level_encoder(model):
    # the window fed to the encoder is the neuron-major flattening of the binned block
    s, trial_pos, k = "Stella", 3, 5
    c = model.counts_[s]
    block = c.values[trial_pos, :, k : k + 10].reshape(-1)
    expected = model.vae_.transform({s: block[None, :].astype(np.float32)})[s][0]
    lat = model.latents().sel(rat=s)
    got = lat.sel(trial=int(c.trial.values[trial_pos]), window=k).values
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_decode_alignment_coherence_shapes(model):
    dec = model.decode()
    assert dec.transfer.dims == ("train_rat", "test_rat")
    np.testing.assert_allclose(np.diag(dec.transfer.values), dec.accuracy.values)
    assert ((dec.chance > 0) & (dec.chance <= 1)).all()
    al = model.alignment()
    assert al.distance.dims == ("rat_a", "rat_b")
    np.testing.assert_allclose(np.diag(al.distance.values), 0, atol=1e-12)
    coh = model.coherence()
    assert coh.coherence.dims == ("source_rat", "target_rat")
    assert ((coh.oracle >= 0) & (coh.oracle <= 1)).all()


def test_save_load_round_trip(model, tmp_path):
    path = model.save(tmp_path / "rats.nmx")
    loaded = nm.load(path)
    xr.testing.assert_identical(loaded.latents(), model.latents())
    assert loaded.get_params() == {**model.get_params(), "device": "auto"}
    pd.testing.assert_frame_equal(loaded.pairs_["test"], model.pairs_["test"])


def test_transform_new_session_with_same_units(model, rec):
    lat = model.transform({"Barat": rec["Barat"]})
    np.testing.assert_allclose(lat.values, model.latents().sel(rat="Barat").values, rtol=1e-6)


def test_every_input_form_gives_the_same_counts(rec):
    a = nm.NeuralModel(subject_dim="rat", epochs=1, progress=False, pairing="min")
    sub = {s: rec[s] for s in ("Barat", "Mitt")}
    a.fit(sub)
    binned = {s: nm.bin_trials(r, start=0.0, stop=2.0) for s, r in sub.items()}
    b = nm.NeuralModel(
        subject_dim="rat",
        epochs=1,
        progress=False,
        pairing="min",
        start={"Barat": 0.25, "Mitt": 0.5},
    ).fit(binned)
    tree = xr.DataTree.from_dict({s: xr.Dataset({"counts": v}) for s, v in binned.items()})
    tree.attrs["subject_dim"] = "rat"
    c = nm.NeuralModel(
        subject_dim="rat",
        epochs=1,
        progress=False,
        pairing="min",
        start={"Barat": 0.25, "Mitt": 0.5},
    ).fit(tree)
    for other in (b, c):
        for s in sub:
            np.testing.assert_array_equal(other.counts_[s].values, a.counts_[s].values)


def test_where_filters_trials(rec):
    m = nm.fit(rec, subject_dim="rat", where={"odor": ["A", "B"]}, epochs=1, progress=False)
    for s in m.subjects_:
        assert set(m.counts_[s].odor.values) == {"A", "B"}


@pytest.mark.parametrize("method", nm.models.available())
def test_every_method_runs_on_recordings(rec, method):
    sub = {s: rec[s] for s in ("Barat", "Stella", "SuperChris")}
    m = nm.fit(sub, subject_dim="rat", method=method, epochs=1, progress=False)
    assert np.isfinite(m.history_["loss"]).all()


def test_rate_scale_reaches_the_model_and_survives_save_load(rec, tmp_path):
    sub = {s: rec[s] for s in ("Barat", "Stella", "SuperChris")}
    m = nm.fit(
        sub, subject_dim="rat", method="moe", rate_scale="subjects", epochs=1, progress=False
    )
    assert m.vae_.rate_scale == "subjects" and m.vae_.module_.rate_scale == "subjects"
    loaded = nm.load(m.save(tmp_path / "rats.nmx"))
    assert loaded.rate_scale == "subjects" and loaded.vae_.module_.rate_scale == "subjects"
    with pytest.raises(ValueError, match="rate_scale"):
        nm.fit(sub, subject_dim="rat", rate_scale="modalities", epochs=1, progress=False)


def test_resample_pairing_is_a_function_of_seed_and_epoch(rec):
    a = nm.fit(rec, subject_dim="rat", pairing="resample", epochs=1, progress=False)
    b = nm.fit(rec, subject_dim="rat", pairing="resample", epochs=1, progress=False)
    pd.testing.assert_frame_equal(a.pairs_["train"], b.pairs_["train"])
    first = a._sampler(lambda e: a._positions(a._pair("train", rng=a._pairing_rng(e))))
    third = first._pairs(2)
    first._pairs(0), first._pairs(1)  # drawing other epochs first changes nothing
    np.testing.assert_array_equal(first._pairs(2).numpy(), third.numpy())


def test_resample_pairing_uses_every_training_trial(rec):
    m = nm.fit(rec, subject_dim="rat", pairing="resample", epochs=1, progress=False)
    sampler = m._sampler(
        lambda epoch: m._positions(
            m._pair("train", rng=np.random.default_rng(epoch), rule="resample")
        )
    )
    pairs0 = sampler._pairs(0).numpy()
    for j, s in enumerate(m.subjects_):
        assert set(pairs0[:, j]) == set(np.flatnonzero(m._part(s, "train")))
    assert not np.array_equal(pairs0, sampler._pairs(1).numpy())


def test_every_shared_vae_parameter_reaches_the_vae(model, tmp_path):
    from neuromix.estimators import MultimodalVAE
    from neuromix.estimators.neural import _VAE_PARAMS

    shared = set(MultimodalVAE._get_param_names()) & set(nm.NeuralModel._get_param_names())
    assert set(_VAE_PARAMS) == shared
    assert {"method", "latent_dim", "beta", "hidden", "epochs", "seed"} <= shared
    fitted = model.vae_.get_params()
    assert all(fitted[k] == model.get_params()[k] for k in shared)
    assert fitted["architecture"] == "mlp" and fitted["validation_fraction"] == 0.0
    changed = nm.NeuralModel(
        method="poe",
        method_params={"prior_expert": True},
        latent_dim=3,
        beta=0.5,
        rate_scale="subjects",
        likelihood="poisson",
        hidden=(16, 8),
        reweight="size",
        epochs=2,
        batch_size=32,
        lr=1e-2,
        seed=4,
        device="cpu",
        progress=False,
        clip_grad=1.0,
        checkpoint=str(tmp_path / "ckpt.nmx"),
        checkpoint_every=2,
    )
    vae = changed._make_vae().get_params()
    assert all(vae[k] == changed.get_params()[k] for k in shared)
