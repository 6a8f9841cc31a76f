"""Agreement tests: every copy of the window layout, of a likelihood and of "encode one
subject" gives the same numbers.

* window layout: ``flatten_windows(sliding_windows(...))``, ``WindowSampler.gather`` /
  ``WindowSampler.batches`` (as the training loop drives it), ``NeuralModel._all_windows``
  and ``NeuralModel.windows()`` against a hand-built loop (trial t, window w:
  ``counts[t, :, w * step : w * step + lag]`` flattened unit-major, then lag);
* likelihoods: every registered likelihood's ``nll`` against the matching
  ``torch.distributions`` log_prob, summed over the features;
* latents: ``MultimodalVAE.transform`` / ``posterior``, ``NeuralModel.latents()`` /
  ``transform()`` and the image evaluation's encoding (``evaluate_multimodal``'s probe
  latents, ``reconstruction_errors``, ``posterior_generator``) on the same input.

Everything is CPU and single-threaded here: identical rows through identical weights give
bit-identical outputs, so the comparisons are exact (``assert_array_equal``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import xarray as xr
from torch import distributions as D

import neuromix as nm
from neuromix.data.windows import flatten_windows, sliding_windows
from neuromix.evaluation import images
from neuromix.models.likelihoods import get_likelihood, likelihoods
from neuromix.training.samplers import WindowSampler

WINDOW, STEP = 0.05, 0.02  # 5 bins every 2: a step other than one bin, to catch mix-ups
LAG, STEP_BINS = 5, 2
UNITS = {"Barat": 5, "Mitt": 3}  # different widths, to catch subject mix-ups


def reference_rows(counts: np.ndarray, lag: int, step: int, n: int) -> np.ndarray:
    """The layout by hand: row t * n + w is counts[t, :, w*step : w*step+lag], unit-major."""
    rows = []
    for t in range(counts.shape[0]):
        for w in range(n):
            block = counts[t, :, w * step : w * step + lag]  # (unit, lag)
            row = [block[u, k] for u in range(block.shape[0]) for k in range(lag)]
            rows.append(row)
    return np.asarray(rows, dtype=np.float32)


def all_pairs_sampler_rows(sampler: WindowSampler, n: int) -> list[np.ndarray]:
    """Every batch of one unshuffled epoch, concatenated per subject."""
    parts = [[] for _ in sampler.counts]
    for xs, mask in sampler.batches(7, shuffle=False, generator=None, epoch=0):
        assert mask is None
        for m, x in enumerate(xs):
            parts[m].append(x.numpy())
    out = [np.concatenate(p) for p in parts]
    assert all(len(o) == n for o in out)
    return out


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def recordings():
    return nm.datasets.simulate_odor_sequence(
        seed=0, subjects=list(UNITS), n_trials=40, n_units=UNITS
    )


@pytest.fixture(scope="module")
def model(recordings):
    # n_trials=40: with 20 trials the default 20 % test split (4 trials) is smaller than
    # the 5 odors and stratified splitting refuses it.
    with torch.random.fork_rng(devices=[]):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return nm.fit(
                recordings, epochs=1, progress=False, start=0.25, window=WINDOW, step=STEP
            )
        finally:
            torch.set_num_threads(threads)


# --------------------------------------------------------------------------- windows
def test_pure_window_functions_agree_with_the_reference_loop():
    rng = np.random.default_rng(0)
    n_trials, n_units, n_time = 4, 3, 30
    values = rng.integers(0, 9, size=(n_trials, n_units, n_time)).astype(np.uint8)
    counts = xr.DataArray(
        values,
        dims=("trial", "unit", "time"),
        coords={"time": np.round(0.1 + np.arange(n_time) * 0.01, 9)},
        attrs={"bin_size": 0.01},
    )
    start_bin = 3  # windows over [0.13, 0.4): 27 bins -> (27 - 5) // 2 + 1 = 12 windows
    n = (n_time - start_bin - LAG) // STEP_BINS + 1
    expected = reference_rows(values[:, :, start_bin:], LAG, STEP_BINS, n)

    flat = flatten_windows(sliding_windows(counts, window=WINDOW, step=STEP, start=0.13))
    np.testing.assert_array_equal(flat.astype(np.float32), expected)
    assert flat.dtype == np.uint8  # the counts' type unless asked

    tensor = torch.as_tensor(np.ascontiguousarray(values[:, :, start_bin:]))
    pairs = np.arange(n_trials)[:, None]  # one subject: every trial is a tuple
    sampler = WindowSampler([tensor], pairs, n_windows=n, lag_bins=LAG, step_bins=STEP_BINS)
    trials = torch.arange(n_trials).repeat_interleave(n)
    windows = torch.arange(n).repeat(n_trials)
    np.testing.assert_array_equal(sampler.gather(0, trials, windows).numpy(), expected)
    (batched,) = all_pairs_sampler_rows(sampler, n_trials * n)
    np.testing.assert_array_equal(batched, expected)


def test_model_window_paths_agree_with_the_reference_loop(model):
    assert (model._lag, model._step) == (LAG, STEP_BINS)
    full = model.windows()
    for m, s in enumerate(model.subjects_):
        counts = model.counts_[s]
        values = counts.transpose("trial", "unit", "time").values
        n = model.n_windows_
        expected = reference_rows(values, LAG, STEP_BINS, n)
        assert expected.shape == (counts.sizes["trial"] * n, UNITS[s] * LAG)

        np.testing.assert_array_equal(model._all_windows(m).numpy(), expected)

        flat = flatten_windows(
            sliding_windows(
                counts, window=WINDOW, step=STEP, start=model.starts_[s], stop=model.stops_[s]
            ),
            dtype=np.float32,
        )
        np.testing.assert_array_equal(flat, expected)

        own = full.sel(subject=s).dropna("feature", how="all")
        np.testing.assert_array_equal(own["trial"].values, np.repeat(counts["trial"].values, n))
        np.testing.assert_array_equal(own["window"].values, np.tile(np.arange(n), len(counts)))
        np.testing.assert_array_equal(own.values, expected)


@pytest.mark.parametrize("split", ["train", "test"])
def test_training_sampler_gives_the_reference_rows_of_its_pairs(model, split):
    """The sampler the training loop uses (the model's tensors and pairs), unshuffled and
    at known pair/window indices, cuts exactly the reference rows of the paired trials."""
    positions = model._positions(model.pairs_[split])
    sampler = model._sampler(positions)
    n = model.n_windows_
    refs = [reference_rows(model.counts_[s].values, LAG, STEP_BINS, n) for s in model.subjects_]
    # sample k = tuple k // n, window k % n; subject m reads its trial positions[k // n, m]
    batches = all_pairs_sampler_rows(sampler, len(positions) * n)
    for m, ref in enumerate(refs):
        rows = np.repeat(positions[:, m], n) * n + np.tile(np.arange(n), len(positions))
        np.testing.assert_array_equal(batches[m], ref[rows])
        # and gather at a few known (tuple, window) indices
        idx = torch.tensor([0, n - 1, n, len(positions) * n - 1])
        tuples, windows = idx // n, idx % n
        got = sampler.gather(m, torch.as_tensor(positions)[tuples, m], windows)
        np.testing.assert_array_equal(got.numpy(), ref[rows[idx.numpy()]])
        np.testing.assert_array_equal(
            got.numpy(), model._all_windows(m).numpy()[rows[idx.numpy()]]
        )


# --------------------------------------------------------------------------- likelihoods
def _poisson_rate(spec):
    link = spec.get("link", "softplus")
    return (lambda p: F.softplus(p)) if link == "softplus" else torch.exp


def _references():
    """name -> list of (spec, make data (params, x), torch distribution of params)."""
    g = torch.Generator().manual_seed(0)
    shape = (6, 3, 4)  # several feature axes: the sum must cover all of them

    def normal():
        return torch.randn(shape, generator=g, dtype=torch.float64)

    def counts():
        return torch.randint(0, 8, shape, generator=g).to(torch.float64)

    return {
        "gaussian": [
            (
                {"name": "gaussian", "scale": scale},
                lambda: (normal(), normal()),
                lambda p, scale=scale: D.Normal(p, scale),
            )
            for scale in (1.0, 0.3)
        ],
        "laplace": [
            (
                {"name": "laplace", "scale": scale},
                lambda: (normal(), normal()),
                lambda p, scale=scale: D.Laplace(p, scale),
            )
            for scale in (0.75, 2.0)
        ],
        "poisson": [
            (
                {"name": "poisson", "link": link},
                lambda: (2 * normal(), counts()),
                lambda p, link=link: D.Poisson(_poisson_rate({"link": link})(p)),
            )
            for link in ("softplus", "exp")
        ],
        "bernoulli": [
            (
                {"name": "bernoulli"},
                lambda: (3 * normal(), torch.randint(0, 2, shape, generator=g).double()),
                lambda p: D.Bernoulli(logits=p),
            ),
            (  # [0, 1] data (e.g. grey levels): the same cross-entropy formula
                {"name": "bernoulli"},
                lambda: (3 * normal(), torch.rand(shape, generator=g, dtype=torch.float64)),
                lambda p: D.Bernoulli(logits=p, validate_args=False),
            ),
        ],
        "categorical": [
            (
                # logits (n, n_classes, *shape), codes (n, *shape): the class axis is 1
                {"name": "categorical", "n_classes": 5},
                lambda: (
                    torch.randn((shape[0], 5, *shape[1:]), generator=g, dtype=torch.float64),
                    torch.randint(0, 5, shape, generator=g),
                ),
                lambda p: D.Categorical(logits=p.movedim(1, -1)),
            )
        ],
    }


@pytest.mark.parametrize("name", likelihoods())
def test_likelihood_nll_equals_torch_distributions(name):
    refs = _references()
    assert name in refs, f"likelihood {name!r} has no torch.distributions reference here"
    for spec, data, dist in refs[name]:
        lik = get_likelihood(spec)
        params, x = data()
        assert tuple(params.shape[1:]) == lik.n_params(tuple(x.shape[1:]))
        got = lik.nll(params, x)
        expected = -dist(params).log_prob(x).reshape(x.shape[0], -1).sum(dim=1)
        assert got.shape == (x.shape[0],)
        assert got.dtype == torch.float64
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-10, msg=str(spec))
        if name != "categorical":  # the likelihood mean is the distribution's mean
            torch.testing.assert_close(lik.mean(params), dist(params).mean, rtol=1e-12, atol=0)
        else:
            torch.testing.assert_close(
                lik.mean(params), dist(params).probs.movedim(-1, 1), rtol=1e-12, atol=1e-15
            )


# --------------------------------------------------------------------------- latents
def test_neural_model_latents_equal_the_estimator_on_the_same_windows(model):
    lat = model.latents()
    for m, s in enumerate(model.subjects_):
        rows = model._all_windows(m).numpy()
        flat = flatten_windows(
            sliding_windows(
                model.counts_[s],
                window=WINDOW,
                step=STEP,
                start=model.starts_[s],
                stop=model.stops_[s],
            ),
            dtype=np.float32,
        )
        ours = lat.sel(subject=s).values
        np.testing.assert_array_equal(model.vae_.transform({s: rows})[s], ours)
        np.testing.assert_array_equal(model.vae_.transform({s: flat})[s], ours)
        mu, var = model.vae_.posterior({s: flat})[s]
        np.testing.assert_array_equal(mu, ours)
    # drawn latents: mean + sd * N(0, 1) noise of the model's seed, subject after subject
    drawn = model.latents(sample=True, n_draws=2)
    rng = np.random.default_rng(model.seed)
    for s in model.subjects_:
        mu, var = model.vae_.posterior(
            {s: model.windows().sel(subject=s).dropna("feature", how="all").values}
        )[s]
        eps = rng.standard_normal((2, *mu.shape)).astype(mu.dtype)
        np.testing.assert_allclose(drawn.sel(subject=s).values, mu + np.sqrt(var) * eps, rtol=1e-6)


def test_neural_model_transform_of_the_fitted_recordings_equals_latents(model, recordings):
    lat = model.latents()
    new = model.transform(recordings)
    for s in model.subjects_:
        ours = lat.sel(subject=s)
        again = new.sel(subject=s)
        # transform keeps every trial of the recording; latents the trials kept at fit
        key = list(zip(again["trial"].values, again["window"].values, strict=True))
        where = {k: i for i, k in enumerate(key)}
        pick = [where[k] for k in zip(ours["trial"].values, ours["window"].values, strict=True)]
        np.testing.assert_array_equal(again.values[pick], ours.values)


@pytest.fixture(scope="module")
def image_vae():
    rng = np.random.default_rng(0)
    X = {m: rng.random((10, 1, 28, 28), dtype=np.float32) for m in ("a", "b")}
    y = np.arange(10) % 2
    with torch.random.fork_rng(devices=[]):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            vae = nm.MultimodalVAE(
                method="mopoe",
                architecture="image",
                conv_width=4,
                latent_dim=3,
                likelihood={"name": "laplace", "scale": 0.75},
                epochs=1,
                batch_size=10,
                validation_fraction=0.0,
                progress=False,
                seed=0,
            ).fit(X)
        finally:
            torch.set_num_threads(threads)
    return vae, X, y


class _Stop(Exception):
    pass


def test_image_evaluation_probes_read_the_estimator_latents(image_vae, monkeypatch):
    vae, X, y = image_vae
    seen = {}

    def capture(z_train, y_train, z_test, y_test, **kwargs):
        seen["train"], seen["test"] = z_train, z_test
        raise _Stop

    monkeypatch.setattr(images, "latent_probes", capture)
    with pytest.raises(_Stop):
        images.evaluate_multimodal(vae, X, y, X, y, classifiers={}, seed=0)
    expected = vae.transform(X)
    for part in ("train", "test"):
        assert set(seen[part]) == set(expected)
        for m in expected:
            np.testing.assert_array_equal(seen[part][m], expected[m])


def _recording_encode(vae, monkeypatch):
    calls = []
    encode = vae.module_.encode

    def wrapped(inputs):
        out = encode(inputs)
        calls.append(([x is not None for x in inputs], out))
        return out

    monkeypatch.setattr(vae.module_, "encode", wrapped)
    return calls


def test_image_reconstruction_encodes_as_transform(image_vae, monkeypatch):
    """reconstruction_errors encodes all modalities together: each unimodal posterior
    must still equal the one transform/posterior gives for that modality alone."""
    vae, X, _ = image_vae
    calls = _recording_encode(vae, monkeypatch)
    images.reconstruction_errors(vae, X, seed=0)
    assert len(calls) == 1  # 10 images: one batch
    given, (mu, logvar, _) = calls[0]
    assert all(given)
    post = vae.posterior(X)
    for m, s in enumerate(vae.subjects_):
        np.testing.assert_array_equal(mu[:, m].numpy(), post[s][0])
        np.testing.assert_array_equal(np.exp(logvar[:, m].numpy()), post[s][1])


def test_image_coherence_generator_encodes_as_transform(image_vae, monkeypatch):
    vae, X, _ = image_vae
    expected = vae.transform(X)
    for m, s in enumerate(vae.subjects_):
        calls = _recording_encode(vae, monkeypatch)
        out = images.posterior_generator(vae, sample=False)(s, X[s], list(vae.subjects_))
        assert len(calls) == 1
        given, (mu, _, _) = calls[0]
        assert given == [k == m for k in range(len(vae.subjects_))]
        np.testing.assert_array_equal(mu[:, m].numpy(), expected[s])
        with torch.no_grad():
            params = vae.module_.likelihood_params(
                torch.as_tensor(expected[s]), subjects=list(range(len(vae.subjects_)))
            )
        for k, t in enumerate(vae.subjects_):
            np.testing.assert_array_equal(out[t], params[k].numpy())  # Laplace: mean = mu
        monkeypatch.undo()
