"""Image-benchmark evaluation: probe, coherence, classifier, reconstruction errors.

(Named ``test_eval_images`` so that it does not clash with ``tests/datasets/test_images.py``
under pytest's default import mode.)
"""

import math
from contextlib import nullcontext as does_not_raise

import numpy as np
import pytest
import torch

import neuromix as nm
from neuromix.datasets import translated_polymnist
from neuromix.evaluation.images import (
    ImageClassifier,
    coherence,
    evaluate_multimodal,
    latent_probes,
    posterior_generator,
    reconstruction_errors,
)

N_CLASSES = 10


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _bar_images(labels, n_modalities=3, seed=0, noise=0.1):
    """Images (n, 1, 10, 10) whose class is the row of a bright bar; paired per modality."""
    rng = np.random.default_rng(seed)
    out = {}
    for m in range(n_modalities):
        images = rng.uniform(0, noise, size=(len(labels), 1, N_CLASSES, N_CLASSES))
        images[np.arange(len(labels)), 0, labels, :] += 0.9
        out[f"m{m}"] = images.astype(np.float32)
    return out


class RowReader:
    """A perfect classifier of bar images: the brightest row."""

    def predict(self, images):
        return images.mean(axis=(1, 3)).argmax(axis=1)


@pytest.fixture
def labels(rng):
    return rng.integers(N_CLASSES, size=600)


def test_probe_is_perfect_on_separable_latents_and_chance_on_noise(rng, labels):
    z = {
        "separable": np.eye(N_CLASSES)[labels] * 3 + 0.3 * rng.normal(size=(600, N_CLASSES)),
        "noise": rng.normal(size=(600, 8)),
    }
    acc = latent_probes(
        {k: v[:400] for k, v in z.items()},
        labels[:400],
        {k: v[400:] for k, v in z.items()},
        labels[400:],
    )
    assert acc.dims == ("modality",) and list(acc.modality.values) == ["separable", "noise"]
    assert float(acc.sel(modality="separable")) > 0.99
    assert float(acc.sel(modality="noise")) < 0.2  # chance 0.1


def test_probe_uses_at_most_max_train_latents(rng, labels):
    z = np.eye(N_CLASSES)[labels] * 3
    few = latent_probes({"a": z[:400]}, labels[:400], {"a": z[400:]}, labels[400:], max_train=5)
    assert float(few.sel(modality="a")) < 0.9  # 5 latents cannot show every class


def test_coherence_of_real_paired_images_is_perfect_and_of_noise_is_chance(rng, labels):
    X = _bar_images(labels)
    classifiers = {m: RowReader() for m in X}
    real = coherence(lambda s, xs, targets: {t: X[t] for t in targets}, X, labels, classifiers)
    assert real.dims == ("source", "target")
    off = ~np.eye(3, dtype=bool)
    assert np.isnan(np.diag(real.values)).all()
    np.testing.assert_array_equal(real.values[off], 1.0)

    noise = coherence(
        lambda s, xs, targets: {t: rng.uniform(size=xs.shape) for t in targets},
        X,
        labels,
        classifiers,
    )
    assert abs(np.nanmean(noise.values) - 1 / N_CLASSES) < 0.05

    # a generator that only knows its source's digit through another tuple's label
    shuffled = rng.permutation(len(labels))
    wrong = coherence(
        lambda s, xs, targets: {t: X[t][shuffled] for t in targets}, X, labels, classifiers
    )
    assert np.nanmean(wrong.values) < 0.2


def test_coherence_needs_a_classifier_for_every_modality(labels):
    X = _bar_images(labels, n_modalities=2)
    with pytest.raises(ValueError, match=r"no classifier for 'm1'"):
        coherence(lambda s, xs, ts: {}, X, labels, {"m0": RowReader()})


def test_image_classifier_learns_and_round_trips(tmp_path, labels):
    X = _bar_images(labels, n_modalities=1, noise=0.3)["m0"]
    clf = ImageClassifier(epochs=4, batch_size=32, width=8, seed=1).fit(X[:400], labels[:400])
    assert clf.score(X[400:], labels[400:]) > 0.95
    assert len(clf.history_) == 4 and clf.history_[-1] < clf.history_[0]
    proba = clf.predict_proba(X[400:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    clf.save(tmp_path / "clf.pt")
    again = ImageClassifier.load(tmp_path / "clf.pt", device="cpu")
    np.testing.assert_allclose(again.predict_proba(X[400:]), proba, rtol=1e-5, atol=1e-6)
    assert again.get_params()["width"] == 8


def test_image_classifier_is_deterministic_given_the_seed(labels):
    X = _bar_images(labels[:64], n_modalities=1)["m0"]
    a = ImageClassifier(epochs=1, width=2, seed=3).fit(X, labels[:64]).predict_proba(X)
    b = ImageClassifier(epochs=1, width=2, seed=3).fit(X, labels[:64]).predict_proba(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("params", "X_shape", "y", "expectation"),
    [
        ({}, (20, 1, 6, 6), np.arange(20) % 2, does_not_raise()),
        ({}, (20, 6, 6), np.arange(20) % 2, pytest.raises(ValueError, match="X: expected float")),
        ({}, (20, 1, 6, 6), np.zeros(20), pytest.raises(ValueError, match="single class")),
        ({}, (20, 1, 6, 6), np.arange(19) % 2, pytest.raises(ValueError, match="20 labels")),
        (
            {"epochs": 0},
            (20, 1, 6, 6),
            np.arange(20) % 2,
            pytest.raises(ValueError, match="epochs"),
        ),
        (
            {"width": 2.5},
            (20, 1, 6, 6),
            np.arange(20) % 2,
            pytest.raises(ValueError, match="width"),
        ),
        ({"lr": 0}, (20, 1, 6, 6), np.arange(20) % 2, pytest.raises(ValueError, match="lr must")),
    ],
)
def test_image_classifier_errors(params, X_shape, y, expectation):
    X = np.zeros(X_shape, dtype=np.float32)
    with expectation:
        ImageClassifier(**{"epochs": 1, "width": 2, **params}).fit(X, y)


def test_unfitted_classifier_refuses_to_predict():
    with pytest.raises(RuntimeError, match="not fitted yet"):
        ImageClassifier().predict(np.zeros((1, 1, 4, 4), dtype=np.float32))


# --------------------------------------------------------------------------- on a VAE
@pytest.fixture(scope="module")
def polymnist():
    X, y = translated_polymnist("train", n_modalities=3, seed=0, n=16)
    return X, y


@pytest.fixture(scope="module")
def vaes(polymnist):
    """One model per method after a single step (evaluation does not need training; fit
    needs at least one epoch), built once."""
    X, _ = polymnist
    out = {}
    with torch.random.fork_rng(devices=[]):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        for method in nm.models.available():
            out[method] = nm.MultimodalVAE(
                method=method,
                latent_dim=4,
                likelihood={"name": "laplace", "scale": 0.75},
                epochs=1,
                batch_size=16,  # the 16 tuples: one step
                validation_fraction=0.0,
                progress=False,
                seed=0,
            ).fit(X)
        torch.set_num_threads(threads)
    return out


@pytest.mark.parametrize("method", nm.models.available())
def test_reconstruction_nll_and_mae_agree_for_every_method(polymnist, vaes, method):
    """A Laplace NLL is D |x - mu|_mean / scale + D log(2 scale): the joint weights of every
    method (own posterior, joint posterior, mixture components) must sum to one."""
    X, _ = polymnist
    rec = reconstruction_errors(vaes[method], X, seed=0)
    assert rec.sizes == {"modality": 3}
    d = 3 * 28 * 28
    for kind in ("joint", "self"):
        expected = d * rec[f"mae_{kind}"] / 0.75 + d * math.log(1.5)
        np.testing.assert_allclose(rec[f"nll_{kind}"], expected, rtol=1e-4)
    assert (rec.mae_joint > 0).all() and (rec.mae_joint < 1).all()


def test_reconstruction_is_deterministic_given_the_seed(polymnist, vaes):
    X, _ = polymnist
    a, b = (reconstruction_errors(vaes["moe"], X, seed=4) for _ in range(2))
    np.testing.assert_array_equal(a.nll_joint, b.nll_joint)


@pytest.mark.parametrize("sample", [False, True])
@pytest.mark.parametrize("method", nm.models.available())
def test_posterior_generator_matches_the_estimators_generate(polymnist, vaes, method, sample):
    """Coherence generates as ``generate`` does from one source, for every method (PoE
    with its default N(0, I) expert included), drawn or from the posterior mean."""
    X, _ = polymnist
    vae = vaes[method]
    out = posterior_generator(vae, seed=3, sample=sample)("m1", X["m1"], ["m0", "m2"])
    for target in ("m0", "m2"):
        expected = vae.generate({"m1": X["m1"]}, target, sample=sample, seed=3)
        np.testing.assert_allclose(out[target], expected, rtol=1e-5, atol=1e-6)
        assert out[target].shape == X[target].shape


def test_coherence_of_poe_decodes_the_sources_own_posterior(polymnist, vaes):
    """With the N(0, I) expert, the mean of q_m (not of PoE(q_m, N(0, I))) is decoded."""
    X, _ = polymnist
    vae = vaes["poe"]
    assert vae.method_.prior_expert
    out = posterior_generator(vae, sample=False)("m1", X["m1"], ["m2"])["m2"]
    mean = torch.as_tensor(vae.transform({"m1": X["m1"]})["m1"])
    with torch.no_grad():
        expected = vae.module_.likelihood_params(mean, subjects=[2])[
            2
        ].numpy()  # Laplace: mean = params
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_reconstruction_of_subsampled_poe_normalises_its_weights(polymnist):
    """Joint and unimodal terms both decode each modality: the joint error is their mean."""
    X, _ = polymnist
    vae = nm.MultimodalVAE(
        method="poe",
        method_params={"subsampled": True},
        latent_dim=4,
        likelihood={"name": "laplace", "scale": 0.75},
        epochs=1,
        batch_size=8,
        progress=False,
    ).fit(X)
    rec = reconstruction_errors(vae, X, seed=0)
    d = 3 * 28 * 28
    expected = d * rec["mae_joint"] / 0.75 + d * math.log(1.5)
    np.testing.assert_allclose(rec["nll_joint"], expected, rtol=1e-4)


def test_evaluate_multimodal_returns_the_documented_numbers(polymnist, vaes):
    X, y = polymnist
    classifiers = {m: RowReader() for m in X}
    out = evaluate_multimodal(vaes["mmvm"], X, y, X, y, classifiers, seed=0)
    names = ["m0", "m1", "m2"]
    expected = {"accuracy", "coherence", "recon", "recon_self", "mae", "mae_self"}
    expected |= {f"accuracy_{m}" for m in names} | {f"recon_{m}" for m in names}
    expected |= {f"recon_self_{m}" for m in names}
    expected |= {f"coherence_{s}_{t}" for s in names for t in names if s != t}
    assert set(out) == expected
    assert all(isinstance(v, float) and math.isfinite(v) for v in out.values())
    assert out["accuracy"] == pytest.approx(np.mean([out[f"accuracy_{m}"] for m in names]))
    assert out["recon"] == pytest.approx(sum(out[f"recon_{m}"] for m in names))
    assert 0 <= out["coherence"] <= 1
    # MMVM decodes each modality from its own posterior in both measures
    assert out["recon"] == pytest.approx(out["recon_self"], rel=0.05)


def test_reconstruction_needs_every_modality(polymnist, vaes):
    X, _ = polymnist
    with pytest.raises(ValueError, match=r"lacks the fitted modalities \['m2'\]"):
        reconstruction_errors(vaes["avg"], {"m0": X["m0"], "m1": X["m1"]})
