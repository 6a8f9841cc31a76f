"""neuromix.sweep: every model of an ensemble equals its separate fit with the same seed."""

import numpy as np
import pytest
import torch

import neuromix as nm
from neuromix.training.loop import TrainingDivergedError

ARRAYS = {"epochs": 3, "batch_size": 64, "progress": False}
RECORDINGS = {
    "subject_dim": "rat",
    "label": "odor",
    "epochs": 2,
    "batch_size": 64,
    # one fixed schedule (a selecting configuration is fitted alone), and the criterion
    # an ensemble of several splits records (the decoding one is per split)
    "patience": None,
    "criterion": "cross",
}
#: weights of a sweep model against its separate fit: the grouped matmuls sum in another
#: order, so equal up to float32 rounding after a few hundred Adam steps
RTOL, ATOL = 1e-4, 1e-5
HISTORY = ["loss", "recon", "rate", "val_loss", "val_recon", "val_rate"]


@pytest.fixture(scope="module")
def X():
    return nm.datasets.make_multiview(n_samples=300, seed=0)[0]


@pytest.fixture(scope="module")
def rec():
    return nm.datasets.simulate_odor_sequence(seed=0, n_trials=40, n_units=6)


@pytest.fixture(scope="module")
def array_sweep(X):
    return nm.sweep(X, method="mmvm", beta=[0.5, 2.0], seed=[0, 1], **ARRAYS)


@pytest.fixture(scope="module")
def recording_sweep(rec):
    return nm.sweep(rec, beta=[5.0, 10.0], seed=[0, 1], progress=False, **RECORDINGS)


def assert_same_weights(module, reference):
    got, want = module.state_dict(), reference.state_dict()
    assert list(got) == list(want)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=RTOL, atol=ATOL, msg=name)


def assert_same_history(history, reference):
    assert list(history.columns) == list(reference.columns)
    assert history["epoch"].tolist() == reference["epoch"].tolist()
    cols = [c for c in HISTORY if c in reference]
    np.testing.assert_allclose(history[cols], reference[cols], rtol=1e-5)


def test_array_models_equal_separate_fits(array_sweep, X):
    assert len(array_sweep) == 4
    for (beta, seed), vae in array_sweep.models.items():
        separate = nm.MultimodalVAE(method="mmvm", beta=beta, seed=seed, **ARRAYS).fit(X)
        assert vae.get_params() == separate.get_params()
        assert_same_weights(vae.module_, separate.module_)
        assert_same_history(vae.history_, separate.history_)
        assert vae.n_samples_ == separate.n_samples_
    # not trivially equal: the four models differ from each other
    a = array_sweep.model(beta=0.5, seed=0).module_.state_dict()
    b = array_sweep.model(beta=0.5, seed=1).module_.state_dict()
    c = array_sweep.model(beta=2.0, seed=0).module_.state_dict()
    name = next(iter(a))
    assert not torch.allclose(a[name], b[name]) and not torch.allclose(a[name], c[name])


def test_recording_models_equal_separate_fits(recording_sweep, rec):
    for (beta, seed), model in recording_sweep.models.items():
        separate = nm.fit(rec, beta=beta, seed=seed, progress=False, **RECORDINGS)
        for s in separate.subjects_:  # the same trial split, pairs and windows
            np.testing.assert_array_equal(model.test_[s], separate.test_[s])
        assert model.pairs_["train"].equals(separate.pairs_["train"])
        assert model.link_ == separate.link_ == "softplus"  # the link a fixed schedule trains
        assert_same_weights(model.vae_.module_, separate.vae_.module_)
        assert_same_history(model.history_, separate.history_)
        np.testing.assert_allclose(
            model.latents().values, separate.latents().values, rtol=1e-4, atol=1e-5
        )


def test_models_save_and_load_alone(array_sweep, recording_sweep, X, tmp_path):
    vae = array_sweep.model(beta=2.0, seed=1)
    loaded = nm.load(vae.save(tmp_path / "vae.nmx"))
    np.testing.assert_array_equal(loaded.transform(X)["a"], vae.transform(X)["a"])
    # its own storage: the file holds one model, not the ensemble's stacked weights
    size = sum(t.numel() * t.element_size() for t in vae.module_.state_dict().values())
    assert (tmp_path / "vae.nmx").stat().st_size < 2 * size + 100_000
    model = recording_sweep.model(beta=10.0, seed=0)
    loaded = nm.load(model.save(tmp_path / "rats.nmx"))
    np.testing.assert_array_equal(loaded.latents().values, model.latents().values)


def test_dataset_holds_what_each_model_reports(recording_sweep, array_sweep, rec):
    ds = recording_sweep.dataset
    assert ds.val_loss.dims == ("beta", "seed")
    assert ds.beta.values.tolist() == [5.0, 10.0] and ds.seed.values.tolist() == [0, 1]
    assert {"loss", "val_loss", "accuracy", "transfer", "fit_seconds", "ensemble"} <= set(ds)
    for coords, model in recording_sweep.items():
        point = ds.sel(coords)
        assert float(point.val_loss) == model.history_["val_loss"].iloc[-1]
        decoded = model.decode()
        assert float(point.accuracy) == pytest.approx(float(decoded.accuracy.mean()))
        off = ~np.eye(len(model.subjects_), dtype=bool)
        assert float(point.transfer) == pytest.approx(decoded.transfer.values[off].mean())
    # against an independent separate fit: the held-out loss to float tolerance, decoding
    # up to a window or two on the class boundary (weights differ by ~1e-7)
    separate = nm.fit(rec, beta=5.0, seed=1, progress=False, **RECORDINGS)
    point = ds.sel(beta=5.0, seed=1)
    assert float(point.val_loss) == pytest.approx(separate.history_.val_loss.iloc[-1], rel=1e-5)
    assert float(point.accuracy) == pytest.approx(
        float(separate.decode().accuracy.mean()), abs=0.01
    )
    assert np.unique(ds.fit_seconds).size == 1 and float(ds.fit_seconds[0, 0]) > 0
    arrays = array_sweep.dataset
    assert set(arrays.data_vars) == {"loss", "val_loss", "fit_seconds", "ensemble"}
    assert float(arrays.val_loss.sel(beta=0.5, seed=1)) == pytest.approx(
        array_sweep.model(beta=0.5, seed=1).history_.val_loss.iloc[-1]
    )
    assert "SweepResult: 4 MultimodalVAE models" in repr(array_sweep)


def test_shape_changing_parameters_are_separate_ensembles(X):
    result = nm.sweep(X, latent_dim=[2, 3], seed=[0, 1], **ARRAYS)
    ensembles = result.dataset.ensemble
    assert ensembles.sel(latent_dim=2).values.tolist() == [0, 0]
    assert ensembles.sel(latent_dim=3).values.tolist() == [1, 1]
    for (latent_dim, seed), vae in result.models.items():
        separate = nm.MultimodalVAE(latent_dim=latent_dim, seed=seed, **ARRAYS).fit(X)
        assert vae.transform(X)["a"].shape == (300, latent_dim)
        assert_same_weights(vae.module_, separate.module_)
        assert_same_history(vae.history_, separate.history_)


def test_method_options_and_clipping_stay_per_model(X):
    result = nm.sweep(
        X,
        method_params={"alpha": [0.0, 0.5], "estimator": "mc"},
        clip_grad=[1.0, None],
        **ARRAYS,
    )
    assert result.dataset.loss.dims == ("alpha", "clip_grad")
    assert (result.dataset.ensemble == 0).all()
    for (alpha, clip), vae in result.models.items():
        separate = nm.MultimodalVAE(
            method_params={"alpha": alpha, "estimator": "mc"}, clip_grad=clip, **ARRAYS
        ).fit(X)
        assert vae.method_.alpha == alpha
        assert_same_weights(vae.module_, separate.module_)
        assert_same_history(vae.history_, separate.history_)
    clipped = result.model(alpha=0.0, clip_grad=1.0).module_.state_dict()
    free = result.model(alpha=0.0, clip_grad=None).module_.state_dict()
    name = next(iter(free))
    assert not torch.allclose(clipped[name], free[name])  # the clip did bite


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("mopoe", {}),  # several components decoded per subject
        ("poe", {"method_params": {"subsampled": True}}),
        ("independent", {"rate_scale": "subjects"}),
        ("mmvm", {"precision": "bf16", "reweight": "size"}),
    ],
)
@pytest.mark.filterwarnings("ignore:precision='bf16' on a CPU without native")
def test_other_methods_and_options_equal_separate_fits(X, method, extra):
    result = nm.sweep(X, method=method, seed=[0, 1], **extra, **ARRAYS)
    for (seed,), vae in result.models.items():
        separate = nm.MultimodalVAE(method=method, seed=seed, **extra, **ARRAYS).fit(X)
        assert_same_weights(vae.module_, separate.module_)
        assert_same_history(vae.history_, separate.history_)


def test_a_diverging_model_is_named(X):
    with pytest.raises(TrainingDivergedError, match=r"model beta=1e\+38: training diverged") as e:
        nm.sweep(X, beta=[1.0, 1e38], **ARRAYS)
    assert e.value.model == "beta=1e+38" and e.value.epoch == 0 and e.value.batch == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beta": []}, "beta: the list of values to sweep is empty"),
        ({"beta": 0.5}, "nothing to sweep"),
        ({"betas": [0.5, 1.0]}, "betas is not a parameter of MultimodalVAE"),
        ({"method": ["mmvm", "avg"], "beta": [1.0]}, "one method per sweep"),
        ({"seed": [0, 0]}, "seed: values to sweep appear more than once: 0"),
        (
            {"beta": [-1.0, 1.0]},
            "beta must be a number >= 0, .auto. or a list of distinct numbers >= 0, got -1.0",
        ),
        ({"hidden": [16, 16]}, r"pass a tuple \(hidden=\(16, 16\)\)"),
        ({"method_params": {"alpha": []}}, r"method_params\['alpha'\]: the list .* is empty"),
        ({"seed": [0, 1], "checkpoint": "fit.ckpt"}, "checkpoint is not supported by sweep"),
        ({"seed": [0, 1], "progress": "yes"}, "progress must be True or False"),
    ],
)
def test_bad_input(X, kwargs, message):
    with pytest.raises(ValueError, match=message):
        nm.sweep(X, **{"epochs": 1, **kwargs})


def test_only_mlp_subjects_are_ensembled():
    images = {"a": np.random.default_rng(0).random((20, 3, 28, 28), dtype=np.float32)}
    images["b"] = images["a"][:, :1]
    with pytest.raises(ValueError, match=r"sweep trains MLP subjects only.*'image'"):
        nm.sweep(images, seed=[0, 1], epochs=1, conv_width=4, progress=False)


def test_a_configuration_that_stops_early_is_fitted_as_fit_fits_it(X):
    # patience (and beta="auto") are a fit's own schedule: such configurations are not
    # put in a shared ensemble, each equals its separate fit
    sweep = nm.sweep(X, seed=[0, 1], patience=1, min_epochs=1, **ARRAYS)
    assert len(sweep) == 2
    for key, vae in sweep.models.items():
        seed = key[-1] if isinstance(key, tuple) else key
        separate = nm.MultimodalVAE(seed=seed, patience=1, min_epochs=1, **ARRAYS).fit(X)
        assert vae.best_epoch_ == separate.best_epoch_ is not None
        assert vae.beta_ == 1.0
        assert_same_weights(vae.module_, separate.module_)
        assert_same_history(vae.history_, separate.history_)
