"""MultimodalVAE: every method fits, inference from subsets, determinism, generation."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

import neuromix as nm

METHODS = nm.models.available()


@pytest.fixture(scope="module")
def data():
    X, truth = nm.datasets.make_multiview(
        n_samples=400, n_features={"a": 12, "b": 20, "c": 8}, seed=0
    )
    return X, truth


def _vae(**kw):
    params = {"epochs": 6, "batch_size": 64, "progress": False, "latent_dim": 2, "lr": 3e-3}
    params.update(kw)
    return nm.MultimodalVAE(**params)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_fits_with_decreasing_loss(method, data):
    X, _ = data
    vae = _vae(method=method).fit(X)
    loss = vae.history_["loss"].to_numpy()
    assert len(loss) == 6 and np.all(np.isfinite(loss))
    assert loss[-1] < loss[0]
    assert vae.history_["val_loss"].iloc[-1] < vae.history_["val_loss"].iloc[0]
    single = vae.transform({"b": X["b"][:50]})
    assert set(single) == {"b"} and single["b"].shape == (50, 2)
    assert np.isfinite(single["b"]).all()
    joint = vae.transform_joint({"a": X["a"][:50], "c": X["c"][:50]})
    assert joint.shape == (50, 2) and np.isfinite(joint).all()
    gen = vae.generate({"a": X["a"][:7]}, "c")
    assert gen.shape == (7, 8) and np.isfinite(gen).all()


@pytest.mark.parametrize("method", ["mmvm", "poe"])
def test_fit_is_deterministic_on_cpu(method, data):
    X, _ = data
    a = _vae(method=method, epochs=2, device="cpu").fit(X)
    b = _vae(method=method, epochs=2, device="cpu").fit(X)
    np.testing.assert_array_equal(a.transform(X)["a"], b.transform(X)["a"])
    c = _vae(method=method, epochs=2, device="cpu", seed=1).fit(X)
    assert not np.array_equal(a.transform(X)["a"], c.transform(X)["a"])


def test_mmvm_aligns_subjects_better_than_independent(data):
    # On data with a shared factor and a beta at which the latent carries information
    # (at beta = 1 both collapse to the prior here), the MMVM prior pulls the latents together;
    # independent VAEs have no reason to align their (rotation-free) latents.
    X, _ = data
    dist = {}
    for method in ("independent", "mmvm"):
        vae = _vae(method=method, epochs=30, beta=0.1).fit(X)
        z = vae.transform(X)
        spread = np.mean([z[s].std(0).mean() for s in z])
        dist[method] = np.mean(np.linalg.norm(z["a"] - z["b"], axis=1)) / spread
    assert dist["mmvm"] < 0.5 * dist["independent"], dist


def test_sklearn_contract(data):
    X, _ = data
    vae = _vae(method="avg", beta=0.5)
    assert vae.get_params()["beta"] == 0.5
    assert clone(vae).get_params() == vae.get_params()
    assert vae.fit(X) is vae
    assert "MultimodalVAE(" in repr(vae)
    assert set(vae.fit_transform(X)) == {"a", "b", "c"}
    with pytest.raises(TypeError):
        nm.MultimodalVAE("mmvm")  # keyword-only parameters


def test_score_and_likelihoods(data):
    X, _ = data
    counts = {s: np.random.default_rng(0).poisson(2.0, size=x.shape) for s, x in X.items()}
    vae = _vae(method="mmvm", likelihood="poisson", epochs=3).fit(counts)
    assert np.isfinite(vae.score(counts))
    binary = {s: (x > 0).astype(np.float32) for s, x in X.items()}
    vae = _vae(method="poe", likelihood={"a": "bernoulli", "b": "bernoulli", "c": "laplace"}).fit(
        binary
    )
    assert 0 <= vae.generate({"a": binary["a"][:5]}, "b").min()
    assert vae.generate({"a": binary["a"][:5]}, "b").max() <= 1


def test_images_and_text_architectures():
    rng = np.random.default_rng(0)
    X = {
        "img": rng.random((40, 3, 28, 28), dtype=np.float32),
        "txt": rng.integers(0, 5, size=(40, 16)),
    }
    vae = _vae(
        method="mopoe",
        likelihood={"img": "laplace", "txt": {"name": "categorical", "n_classes": 5}},
        epochs=2,
        batch_size=20,
    ).fit(X)
    assert vae.architectures_ == {"img": "image", "txt": "text"}
    assert vae.generate({"txt": X["txt"][:3]}, "img").shape == (3, 3, 28, 28)
    probs = vae.generate({"img": X["img"][:3]}, "txt")
    assert probs.shape == (3, 5, 16)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)


def test_conv_width_sets_the_image_and_text_channels(tmp_path):
    rng = np.random.default_rng(0)
    X = {
        "img": rng.random((20, 3, 28, 28), dtype=np.float32),
        "txt": rng.integers(0, 5, size=(20, 16)),
    }
    lik = {"img": "laplace", "txt": {"name": "categorical", "n_classes": 5}}
    vae = _vae(method="avg", likelihood=lik, conv_width=8, epochs=1, batch_size=10).fit(X)
    convs = [m for m in vae.module_.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Conv1d)]
    stems = [c.out_channels for c in convs if c.in_channels in (3, 5)]
    assert 8 in stems and 16 in stems  # image stem 8, text first layer 2 x 8
    assert max(c.out_channels for c in convs if isinstance(c, torch.nn.Conv2d)) == 32
    vae.save(tmp_path / "m.nmx")
    again = nm.load(tmp_path / "m.nmx")
    assert again.conv_width == 8
    np.testing.assert_array_equal(again.transform(X)["img"], vae.transform(X)["img"])


def test_conv_architecture_is_the_plain_three_layer_pair(tmp_path):
    rng = np.random.default_rng(0)
    X = {m: rng.random((20, 3, 28, 28), dtype=np.float32) for m in ("m0", "m1")}
    vae = _vae(method="mmvm", architecture="conv", conv_width=4, epochs=1, batch_size=10)
    vae.fit(X)
    assert vae.architectures_ == {"m0": "conv", "m1": "conv"}
    encoder_convs = [
        m for m in vae.module_.modules() if type(m) is torch.nn.Conv2d and m.stride == (2, 2)
    ]
    # two subjects x three stride-2 convolutions of 4, 8 and 16 channels
    assert sorted(c.out_channels for c in encoder_convs) == [4, 4, 8, 8, 16, 16]
    assert vae.generate({"m0": X["m0"][:3]}, "m1").shape == (3, 3, 28, 28)
    vae.save(tmp_path / "m.nmx")
    again = nm.load(tmp_path / "m.nmx")
    np.testing.assert_array_equal(again.transform(X)["m1"], vae.transform(X)["m1"])
    with pytest.raises(ValueError, match=r"subject 'a': architecture 'conv' needs \(channels"):
        _vae(architecture="conv", epochs=1).fit({"a": X["m0"][:, 0], "b": X["m1"][:, 0]})


def test_reweight_by_size(data):
    X, _ = data
    vae = _vae(method="independent", reweight="size", epochs=1).fit(X)
    assert vae.module_.recon_weights == pytest.approx([20 / 12, 1.0, 20 / 8])


def test_progress_bar_can_be_silenced(data, capsys):
    X, _ = data
    _vae(epochs=1).fit(X)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_user_arrays_are_not_modified(data):
    X, _ = data
    before = {s: x.copy() for s, x in X.items()}
    _vae(epochs=1).fit(X)
    for s in X:
        np.testing.assert_array_equal(X[s], before[s])


def test_fit_on_a_device_keeps_data_there(data):
    X, _ = data
    vae = _vae(epochs=1, device="cpu").fit(X)
    assert vae.device_ == torch.device("cpu")
    assert next(vae.module_.parameters()).device == torch.device("cpu")


def test_score_uses_the_final_weight_of_the_annealed_prior(data):
    X, _ = data
    vae = _vae(
        method="mmvm", method_params={"alpha": 1.0, "anneal_epochs": 2}, epochs=4, beta=1.0
    ).fit(X)
    xs = [torch.as_tensor(X[s], dtype=torch.float32) for s in vae.subjects_]

    def objective(epoch):
        gen = torch.Generator().manual_seed(vae.seed + 2)
        with torch.no_grad():
            return -float(vae.module_.loss(xs, beta=1.0, epoch=epoch, generator=gen)["loss"])

    # alpha is 1 at epoch 0 and 0 from epoch 2 on; the last fitted epoch is 3
    assert vae.module_.method.alpha_at(3) == 0.0
    assert vae.score(X) == pytest.approx(objective(3), rel=1e-5)
    assert objective(3) != pytest.approx(objective(0), rel=1e-3)


# --------------------------------------------------------------------------- conventions
@pytest.fixture(scope="module")
def poe_vae(data):
    """PoE with the N(0, I) expert (its one-subject joint posterior is not q_m)."""
    X, _ = data
    return _vae(method="poe", epochs=3, beta=0.1).fit(X)


def _decode_mean(vae, z, target):
    t = vae.subjects_.index(target)
    with torch.no_grad():
        params = vae.module_.likelihood_params(
            torch.as_tensor(z, dtype=torch.float32), subjects=[t]
        )[t]
        return vae.module_.likelihoods[t].mean(params).numpy()


def test_generate_from_one_source_decodes_its_own_posterior(poe_vae, data):
    X, _ = data
    vae, source = poe_vae, {"a": X["a"][:40]}
    assert vae.method_.prior_expert
    mean, var = vae.posterior(source)["a"]
    np.testing.assert_array_equal(mean, vae.transform(source)["a"])
    got = vae.generate(source, "c", sample=False)
    np.testing.assert_allclose(got, _decode_mean(vae, mean, "c"), rtol=1e-5, atol=1e-6)
    # not the PoE of q_a with the N(0, I) expert, which shrinks the mean towards 0
    shrunk = mean / (1.0 + var)
    assert not np.allclose(got, _decode_mean(vae, shrunk, "c"), rtol=1e-3, atol=1e-4)
    # a draw uses q_a's own variance, with the noise of the seeded generator
    eps = torch.randn(mean.shape, generator=torch.Generator().manual_seed(4)).numpy()
    drawn = vae.generate(source, "c", seed=4)
    np.testing.assert_allclose(
        drawn, _decode_mean(vae, mean + np.sqrt(var) * eps, "c"), rtol=1e-4, atol=1e-5
    )


def test_generate_into_several_targets_decodes_one_draw_with_each_decoder(poe_vae, data):
    X, _ = data
    source = {"a": X["a"][:40]}
    mean, var = poe_vae.posterior(source)["a"]
    eps = torch.randn(mean.shape, generator=torch.Generator().manual_seed(7)).numpy()
    got = poe_vae.generate(source, ["b", "c"], seed=7)
    assert list(got) == ["b", "c"]
    for target in ("b", "c"):
        expected = _decode_mean(poe_vae, mean + np.sqrt(var) * eps, target)
        np.testing.assert_allclose(got[target], expected, rtol=1e-4, atol=1e-5)


def test_generate_from_several_sources_decodes_the_joint_posterior(poe_vae, data):
    X, _ = data
    source = {"a": X["a"][:40], "b": X["b"][:40]}
    got = poe_vae.generate(source, "c", sample=False)
    expected = _decode_mean(poe_vae, poe_vae.transform_joint(source), "c")
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_rate_scale_is_a_checked_parameter_that_scales_the_rate(data):
    X, _ = data
    with pytest.raises(ValueError, match="rate_scale"):
        _vae(rate_scale="modalities").fit(X)
    one = _vae(method="avg", epochs=1).fit(X)
    subjects = _vae(method="avg", epochs=1, rate_scale="subjects").fit(X)
    assert one.module_.rate_scale == "one" and subjects.module_.rate_scale == "subjects"
    subjects.module_.load_state_dict(one.module_.state_dict())  # same weights, other scale
    xs = [torch.as_tensor(X[s][:64], dtype=torch.float32) for s in one.subjects_]
    rates = []
    for vae in (one, subjects):
        with torch.no_grad():
            gen = torch.Generator().manual_seed(0)
            rates.append(float(vae.module_.loss(xs, generator=gen)["rate"]))
    assert rates[1] == pytest.approx(3 * rates[0], rel=1e-5)


def test_subsampled_poe_fits_through_method_params(data):
    X, _ = data
    vae = _vae(method="poe", method_params={"subsampled": True}, epochs=3).fit(X)
    assert vae.method_.subsampled and vae.method_.prior_expert
    loss = vae.history_["loss"].to_numpy()
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]
