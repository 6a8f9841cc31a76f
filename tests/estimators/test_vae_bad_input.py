"""Every bad input a user can give the array-level estimator, pinned by its message."""

from contextlib import nullcontext as does_not_raise

import numpy as np
import pytest

import neuromix as nm

rng = np.random.default_rng(0)
GOOD = {"a": rng.normal(size=(30, 4)).astype(np.float32), "b": rng.normal(size=(30, 6))}


def _with(**changes):
    X = dict(GOOD)
    X.update(changes)
    return X


def _nan():
    a = GOOD["a"].copy()
    a[3, 2] = np.nan
    return a


def _inf():
    b = GOOD["b"].copy()
    b[5, 1] = np.inf
    return b


FIT_CASES = [
    ({}, GOOD, does_not_raise()),
    (
        {},
        _with(a=_nan()),
        pytest.raises(ValueError, match=r"subject 'a': X contains NaN \(first at sample 3"),
    ),
    (
        {},
        _with(b=_inf()),
        pytest.raises(ValueError, match=r"subject 'b': X contains infinite values"),
    ),
    (
        {},
        _with(b=GOOD["b"][:20]),
        pytest.raises(
            ValueError, match=r"sample counts differ between subjects \('a': 30, 'b': 20\)"
        ),
    ),
    (
        {},
        _with(b=np.array(["x"] * 30)),
        pytest.raises(TypeError, match=r"subject 'b': X must be numeric"),
    ),
    (
        {},
        _with(b=np.zeros(30)),
        pytest.raises(ValueError, match=r"subject 'b': X must have shape \(n_samples, n_features"),
    ),
    ({}, [GOOD["a"]], pytest.raises(TypeError, match="X must be a mapping subject -> array")),
    ({}, {}, pytest.raises(ValueError, match="X must hold at least one subject")),
    (
        {"method": "vae"},
        GOOD,
        pytest.raises(ValueError, match=r"method must be one of 'independent', .* got 'vae'"),
    ),
    (
        {"likelihood": "student"},
        GOOD,
        pytest.raises(ValueError, match=r"unknown likelihood 'student'; available: gaussian"),
    ),
    (
        {"likelihood": {"a": "gaussian"}},
        GOOD,
        pytest.raises(
            ValueError,
            match=r"likelihood: the mapping must name every subject; unknown \[\], missing \['b'\]",
        ),
    ),
    (
        {"likelihood": "poisson"},
        GOOD,
        pytest.raises(
            ValueError, match=r"subject 'a': likelihood 'poisson' needs non-negative counts"
        ),
    ),
    (
        {"likelihood": "bernoulli"},
        GOOD,
        pytest.raises(
            ValueError, match=r"subject 'a': likelihood 'bernoulli' needs values in \[0, 1\]"
        ),
    ),
    (
        {"beta": -0.1},
        GOOD,
        pytest.raises(
            ValueError,
            match=r"beta must be a number >= 0, .auto. or a list of distinct numbers >= 0, got -0.1",
        ),
    ),
    (
        {"precision": "fp16"},
        GOOD,
        pytest.raises(ValueError, match=r"precision must be one of 'fp32', 'bf16', 'auto'"),
    ),
    (
        {"latent_dim": 0},
        GOOD,
        pytest.raises(ValueError, match=r"latent_dim must be an integer >= 1, got 0"),
    ),
    (
        {"latent_dim": 2.5},
        GOOD,
        pytest.raises(ValueError, match=r"latent_dim must be an integer >= 1, got 2.5"),
    ),
    (
        {"conv_width": 0},
        GOOD,
        pytest.raises(ValueError, match=r"conv_width must be an integer >= 1, got 0"),
    ),
    ({"epochs": -1}, GOOD, pytest.raises(ValueError, match=r"epochs must be an integer >= 1")),
    (
        {"epochs": 0},
        GOOD,
        pytest.raises(ValueError, match=r"epochs must be an integer >= 1, got 0"),
    ),
    ({"lr": 0.0}, GOOD, pytest.raises(ValueError, match=r"lr must be a number > 0.0")),
    (
        {"validation_fraction": 0.9},
        GOOD,
        pytest.raises(ValueError, match=r"validation_fraction must be a number >= 0.0 and <= 0.5"),
    ),
    (
        {"architecture": "transformer"},
        GOOD,
        pytest.raises(ValueError, match=r"architecture must be one of 'auto'"),
    ),
    (
        {"architecture": "image"},
        GOOD,
        pytest.raises(
            ValueError, match=r"subject 'a': architecture 'image' needs \(channels, 28, 28\)"
        ),
    ),
    (
        {"method_params": {"estimator": "exact"}},
        GOOD,
        pytest.raises(ValueError, match="MMVM estimator must be one of"),
    ),
    (
        {"method": "mmvm"},
        {"a": GOOD["a"]},
        pytest.raises(ValueError, match=r"method 'mmvm' needs at least 2 subjects; got 1 \('a'\)"),
    ),
]


@pytest.mark.parametrize(("params", "X", "expectation"), FIT_CASES)
def test_fit_bad_input(params, X, expectation):
    vae = nm.MultimodalVAE(**{"epochs": 1, "batch_size": 16, "progress": False, **params})
    with expectation:
        vae.fit(X)


@pytest.fixture(scope="module")
def fitted():
    return nm.MultimodalVAE(epochs=1, batch_size=16, progress=False).fit(GOOD)


TRANSFORM_CASES = [
    ({"a": GOOD["a"]}, does_not_raise()),
    ({"b": GOOD["b"][:7]}, does_not_raise()),
    (
        {"c": GOOD["a"]},
        pytest.raises(
            ValueError, match=r"subject 'c' was not present at fit; fitted subjects: 'a', 'b'"
        ),
    ),
    (
        {"a": GOOD["a"][:, :3]},
        pytest.raises(
            ValueError,
            match=r"subject 'a': expected samples of shape \(4,\) \(as at fit\), got \(3,\)",
        ),
    ),
    ({"a": _nan()}, pytest.raises(ValueError, match="subject 'a': X contains NaN")),
    ({}, pytest.raises(ValueError, match="at least one subject")),
]


@pytest.mark.parametrize(("X", "expectation"), TRANSFORM_CASES)
def test_transform_bad_input(fitted, X, expectation):
    with expectation:
        fitted.transform(X)


def test_score_needs_every_fitted_subject(fitted):
    with pytest.raises(ValueError, match=r"subject 'b' was present at fit but is missing"):
        fitted.score({"a": GOOD["a"]})


def test_generate_unknown_target(fitted):
    with pytest.raises(ValueError, match=r"target 'z' was not present at fit"):
        fitted.generate({"a": GOOD["a"]}, "z")


@pytest.mark.parametrize("target", [[], [3], ("b", None)])
def test_generate_bad_target_list(fitted, target):
    with pytest.raises(TypeError, match=r"target: expected a subject name or a non-empty"):
        fitted.generate({"a": GOOD["a"]}, target)


def test_generate_unknown_target_in_a_list(fitted):
    with pytest.raises(ValueError, match=r"target 'z' was not present at fit"):
        fitted.generate({"a": GOOD["a"]}, ["b", "z"])


def test_unfitted_model():
    with pytest.raises(RuntimeError, match="not fitted yet"):
        nm.MultimodalVAE().transform(GOOD)
