"""Decoding and alignment metrics on hand-built latents with known answers."""

import numpy as np
import pytest

from neuromix.evaluation import centroid_distances, decode_labels, linear_probe
from neuromix.evaluation.decoding import chance_level


def _latents(rng, n, rotation=None, noise=0.3):
    y = rng.integers(4, size=n)
    centres = 3.0 * np.array([[1, 0], [0, 1], [-1, 0], [0, -1]])
    z = centres[y] + noise * rng.normal(size=(n, 2))
    return (z if rotation is None else z @ rotation), y


def test_decoding_separable_shared_space(rng):
    train = {s: _latents(rng, 400) for s in ("a", "b")}
    test = {s: _latents(rng, 200) for s in ("a", "b")}
    ds = decode_labels(train, test, subject_dim="rat")
    assert (ds.accuracy > 0.97).all()
    assert (ds.transfer > 0.97).all()  # one shared space: decoders transfer
    # four balanced clusters: a classifier of shuffled labels scores 1/4 on average
    assert (abs(ds.shuffled - 0.25) < 0.12).all()


def test_decoding_rotated_spaces_do_not_transfer(rng):
    rot = np.array([[0, -1], [1, 0]])  # b's latent is a's rotated by 90 degrees
    train = {"a": _latents(rng, 400), "b": _latents(rng, 400, rot)}
    test = {"a": _latents(rng, 200), "b": _latents(rng, 200, rot)}
    ds = decode_labels(train, test)
    assert (ds.accuracy > 0.97).all()
    assert float(ds.transfer.sel(train_subject="a", test_subject="b")) < 0.1


def test_decoding_noise_is_at_chance(rng):
    train = {"a": (rng.normal(size=(600, 2)), rng.integers(3, size=600))}
    test = {"a": (rng.normal(size=(600, 2)), rng.integers(3, size=600))}
    ds = decode_labels(train, test)
    assert abs(float(ds.accuracy[0]) - 1 / 3) < 0.08


def test_chance_level_is_the_majority_rate():
    assert chance_level(["A", "A", "B", "C"]) == 0.5


def test_linear_probe_limits_training_samples(rng):
    z, y = _latents(rng, 3000)
    assert linear_probe(z[:2000], y[:2000], z[2000:], y[2000:], max_train=100) > 0.95


def test_centroid_distances_by_hand():
    # two conditions at (0, 0) and (4, 0); subject b shifted by (1, 0); within-condition
    # points at +-1 along y: spread exactly 1
    base = np.array([[0, 1], [0, -1], [4, 1], [4, -1]], dtype=float)
    y = np.array([0, 0, 1, 1])
    ds = centroid_distances({"a": (base, y), "b": (base + np.array([1.0, 0.0]), y)})
    assert ds.spread.values == pytest.approx([1.0, 1.0])
    assert float(ds.distance.sel(subject_a="a", subject_b="b")) == pytest.approx(1.0)
    assert ds.separation.values == pytest.approx([4.0, 4.0])
    np.testing.assert_allclose(ds.centroid.sel(subject="b").values, [[1, 0], [5, 0]])


def test_centroid_distances_use_only_shared_conditions():
    z = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1], [5, 5], [5, 6]])
    ds = centroid_distances(
        {"a": (z, np.array([0, 0, 1, 1, 2, 2])), "b": (z[:4], np.array([0, 0, 1, 1]))}
    )
    assert list(ds.condition.values) == [0, 1]
