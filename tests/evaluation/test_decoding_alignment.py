"""Decoding and alignment metrics on hand-built latents with known answers."""

import numpy as np
import pytest

from neuromix.evaluation import centroid_distances, decode_labels, linear_probe
from neuromix.evaluation.decoding import chance_level, permute_by_group, trial_interval


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


def test_interval_over_trials_equals_the_interval_of_one_row_per_trial(rng):
    # windows of a trial all right or all wrong: resampling trials with their windows
    # must give exactly the bootstrap of the trial outcomes themselves
    per_trial = rng.random(30) < 0.7
    windows = np.repeat(per_trial, 16)
    trials = np.repeat(np.arange(30), 16)
    by_window = trial_interval(windows, trials, seed=3)
    by_trial = trial_interval(per_trial, np.arange(30), seed=3)
    assert by_window == pytest.approx(by_trial)
    # treating the 480 windows as independent would give an interval ~4x narrower
    naive = trial_interval(windows, np.arange(480), seed=3)
    assert (by_window[1] - by_window[0]) > 3 * (naive[1] - naive[0])


def test_interval_over_trials_covers_the_truth(rng):
    # trial-level accuracies vary (a random effect per trial); nominal 95% coverage
    hits = 0
    for _ in range(200):
        p = np.clip(rng.normal(0.6, 0.2, size=40), 0, 1)
        correct = rng.random((40, 16)) < p[:, None]
        low, high = trial_interval(correct.ravel(), np.repeat(np.arange(40), 16), n_boot=500)
        hits += low <= 0.6 <= high
    assert hits / 200 > 0.88


def test_shuffled_labels_move_between_trials_only(rng):
    y = np.repeat(np.array(list("ABCDABCD")), 5)
    trial = np.repeat(np.arange(8), 5)
    for _ in range(5):
        out = permute_by_group(y, trial, rng)
        assert all(len(set(out[trial == t])) == 1 for t in range(8))
        assert sorted(out[::5]) == sorted(y[::5])
    with pytest.raises(ValueError, match="constant within each trial"):
        permute_by_group(np.array(["A", "B"]), np.array([0, 0]), rng)


def test_decoding_reports_trial_intervals_and_by_trial_control(rng):
    def part(n_trials):
        y = np.repeat(rng.integers(4, size=n_trials), 8)
        centres = 3.0 * np.array([[1, 0], [0, 1], [-1, 0], [0, -1]])
        return (
            centres[y] + 0.5 * rng.normal(size=(len(y), 2)),
            y,
            np.repeat(np.arange(n_trials), 8),
        )

    ds = decode_labels({"a": part(60), "b": part(60)}, {"a": part(30), "b": part(30)})
    assert ds.accuracy_ci.dims == ("subject", "bound")
    assert (ds.accuracy_ci.sel(bound="low") <= ds.accuracy).all()
    assert (ds.accuracy <= ds.accuracy_ci.sel(bound="high")).all()
    assert ds.transfer_ci.shape == (2, 2, 2)
    assert (abs(ds.shuffled - 0.25) < 0.15).all()
    assert "between trials" in ds.attrs["shuffled_control"]
