"""simulate_task: the suite's generator of multi-subject tasks, checked against closed forms."""

import numpy as np
import pytest

from neuromix.datasets.tasks import simulate_task


def _counts(recording, start, stop):
    """Spike counts (trial, unit) in [onset + start, onset + stop)."""
    onsets = recording.trials["start_time"].to_numpy()
    out = np.zeros((len(onsets), len(recording.spike_times)))
    for j, times in enumerate(recording.spike_times):
        left = np.searchsorted(times, onsets + start)
        right = np.searchsorted(times, onsets + stop)
        out[:, j] = right - left
    return out


def test_trials_units_and_labels_follow_the_arguments():
    rec, truth = simulate_task(
        n_subjects=3, n_units=[5, 7, 9], n_conditions=3, trials=(4, 9), seed=2, label="odor"
    )
    assert list(rec) == ["S01", "S02", "S03"]
    assert [len(r.spike_times) for r in rec.values()] == [5, 7, 9]
    counts = [r.trials["odor"].value_counts().sort_index() for r in rec.values()]
    assert all(set(c.index) == {"c1", "c2", "c3"} for c in counts)
    assert all(((c >= 4) & (c <= 9)).all() for c in counts)
    assert len({tuple(c) for c in counts}) > 1  # unequal across subjects
    again, _ = simulate_task(
        n_subjects=3, n_units=[5, 7, 9], n_conditions=3, trials=(4, 9), seed=2, label="odor"
    )
    assert all(
        np.array_equal(a, b)
        for s in rec
        for a, b in zip(rec[s].spike_times, again[s].spike_times, strict=True)
    )
    assert truth["paths"].shape == (3, 101, 3)


@pytest.mark.parametrize("dispersion", [0.0, 0.5])
def test_counts_have_the_mean_and_fano_factor_of_the_model(dispersion):
    """Without latents, a unit's count in a trial is Poisson(mu) (dispersion 0) or
    Poisson(mu g), g ~ Gamma(mean 1, variance d): mean mu, variance mu + d mu^2."""
    rate = 20.0
    rec, _ = simulate_task(
        n_subjects=1, n_units=30, n_conditions=1, trials=300, rate=rate, signal=0.0,
        private_scale=0.0, dispersion=dispersion, trial_length=1.0, seed=4,
    )  # fmt: skip
    counts = _counts(rec["S01"], 0.0, 1.0)
    mean = counts.mean(axis=0)  # per unit: its baseline rate x 1 s
    fano = counts.var(axis=0, ddof=1) / mean
    expected = 1.0 + dispersion * mean
    assert abs(np.mean(mean) / rate - 1) < 0.2  # log-normal baselines of mean `rate`
    np.testing.assert_allclose(np.median(fano / expected), 1.0, atol=0.12)


def test_responses_lie_between_latency_and_latency_plus_duration():
    rec, truth = simulate_task(
        n_subjects=2, n_units=40, n_conditions=2, trials=60, rate=10.0, signal=3.0,
        latency=[0.2, 0.4], duration=[0.3, 0.2], private_scale=0.0, seed=5,
    )  # fmt: skip
    for s, recording in rec.items():
        lat, dur = truth["latency"][s], truth["duration"][s]
        labels = recording.trials["stimulus"].to_numpy()

        def condition_gap(start, stop, recording=recording, labels=labels):
            counts = _counts(recording, start, stop) / (stop - start)
            a, b = counts[labels == "c1"].mean(0), counts[labels == "c2"].mean(0)
            return np.abs(a - b).mean()

        before = condition_gap(0.0, lat - 0.02)
        inside = condition_gap(lat + 0.25 * dur, lat + 0.75 * dur)
        after = condition_gap(lat + dur + 0.02, 0.98)
        assert inside > 4 * before and inside > 4 * after, (s, before, inside, after)


def test_weak_subject_and_metadata():
    rec, truth = simulate_task(n_subjects=3, n_units=4, trials=2, weak=1, weak_signal=0.1, seed=0)
    assert truth["signal"] == {"S01": 2.0, "S02": 2.0, "S03": 0.1}
    assert rec["S03"].metadata["signal"] == 0.1
    assert rec["S02"].metadata["latency"] == truth["latency"]["S02"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"latent": "spiral"}, "latent"),
        ({"nonlinearity": "relu"}, "nonlinearity"),
        ({"n_units": (9, 3)}, "n_units"),
        ({"n_units": [3, 4]}, "n_units"),
        ({"weak": 9}, "weak"),
        ({"dispersion": -1.0}, "dispersion"),
        ({"latency": 0.9, "duration": 0.3}, "trial_length"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_task(n_subjects=4, trials=2, **kwargs)
