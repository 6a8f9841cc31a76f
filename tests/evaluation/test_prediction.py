"""Cross-subject prediction in bits per spike, against closed forms and a reference loop."""

import math

import numpy as np
import pytest

from neuromix.evaluation.prediction import (
    RATE_FLOOR,
    bits_per_spike,
    condition_psth,
    cross_prediction,
    unit_mean_rates,
)


def test_the_true_rate_scores_its_analytic_value():
    rng = np.random.default_rng(0)
    rate = rng.gamma(2.0, 0.5, size=(1, 40))  # 40 bins of one unit, mean ~1 spike per bin
    counts = rng.poisson(np.repeat(rate, 20_000, axis=0)).astype(float)
    mean = rate.mean()
    # E[x log(rate / mean) - rate + mean] per bin, over E[x] = rate
    expected = (rate * np.log(rate / mean) - rate + mean).sum() / (rate.sum() * math.log(2))
    got = bits_per_spike(np.repeat(rate, len(counts), axis=0), counts, null_rates=mean)
    assert got == pytest.approx(expected, rel=0.01)


def test_the_null_model_scores_zero_and_no_spikes_is_nan():
    rng = np.random.default_rng(1)
    counts = rng.poisson(1.0, size=(50, 6)).astype(float)
    assert bits_per_spike(counts.mean(axis=0), counts) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(bits_per_spike(np.ones((3, 2)), np.zeros((3, 2))))


def test_unit_mean_rates_pool_each_units_lags():
    counts = np.zeros((2, 3, 4))  # trial, window, feature = 2 units x 2 lags
    counts[..., 0], counts[..., 1] = 1.0, 3.0  # unit 0: lags at 1 and 3
    counts[..., 2:] = 5.0
    assert unit_mean_rates(counts, 2).tolist() == [2.0, 2.0, 5.0, 5.0]


def test_condition_psth_is_shrunk_toward_the_unit_mean():
    counts = np.zeros((3, 2, 2))
    counts[0, :, 0] = 3.0  # one spike-rich trial of condition a
    psth = condition_psth(counts, np.array(["a", "a", "b"]), 2, prior_trials=1.0)
    unit = 6.0 / 6  # unit 0: 6 spikes over 3 trials x 2 windows
    assert psth["a"][:, 0] == pytest.approx((3.0 + unit) / 3)
    assert psth["b"][:, 0] == pytest.approx(unit / 2)
    assert (psth["a"][:, 1] == 0).all()


def _data(seed=0, n_windows=3, n_features=4):
    rng = np.random.default_rng(seed)
    labels = {"m": np.array(["a", "a", "b", "b", "b"]), "k": np.array(["a", "b", "b", "a"])}
    truth = {"a": rng.gamma(2.0, 0.5, (n_windows, n_features)),
             "b": rng.gamma(2.0, 0.5, (n_windows, n_features))}  # fmt: skip
    counts = {s: rng.poisson(np.stack([truth[c] for c in labels[s]])).astype(float)
              for s in labels}  # fmt: skip
    return rng, labels, truth, counts


def test_cross_prediction_matches_a_loop_over_trial_pairs():
    rng, labels, _, counts = _data()
    rates = {(s, t): rng.gamma(2.0, 0.5, (len(labels[s]), 3, 4)) for s in "mk" for t in "mk"}
    ds = cross_prediction(counts, labels, rates, n_units={"m": 2, "k": 2}, n_boot=0)
    x, r = counts["k"], rates[("m", "k")]
    null = unit_mean_rates(x, 2)
    gain = spikes = 0.0
    for t, c in enumerate(labels["k"]):
        sources = np.flatnonzero(labels["m"] == c)
        pair_ll = [(x[t] * np.log(r[u]) - r[u]).sum() for u in sources]
        gain += np.mean(pair_ll) - (x[t] * np.log(null) - null).sum()
        spikes += x[t].sum()
    assert float(ds.bits_per_spike.sel(source="m", target="k")) == pytest.approx(
        gain / (spikes * math.log(2))
    )
    # the diagonal: each trial from its own rates
    own = bits_per_spike(rates[("k", "k")].reshape(4, -1), x.reshape(4, -1), np.tile(null, 3))
    assert float(ds.bits_per_spike.sel(source="k", target="k")) == pytest.approx(own)


def test_the_psth_predictor_recovers_a_fraction_of_one_and_the_mean_rate_zero():
    _, labels, _, counts = _data(seed=2)
    psth = {s: condition_psth(counts[s], labels[s], 2) for s in labels}
    # every source trial predicts the target's PSTH of its condition
    rates = {("m", "k"): np.stack([psth["k"][c] for c in labels["m"]])}
    ds = cross_prediction(counts, labels, rates, n_units={"m": 2, "k": 2}, psth=psth, n_boot=50)
    assert float(ds.fraction.sel(source="m", target="k")) == pytest.approx(1.0)
    # the summaries over ordered pairs of different subjects: the one pair here
    assert ds.attrs["mean_bits_per_spike"] == pytest.approx(float(ds.psth.sel(target="k")))
    assert ds.attrs["mean_fraction"] == pytest.approx(1.0)
    # the held-out mean rate of each unit, whatever the condition and the time: 0
    flat = unit_mean_rates(counts["k"], 2)
    rates = {("m", "k"): np.broadcast_to(flat, counts["m"].shape).copy()}
    ds = cross_prediction(counts, labels, rates, n_units={"m": 2, "k": 2}, n_boot=50)
    assert float(ds.bits_per_spike.sel(source="m", target="k")) == pytest.approx(0.0, abs=1e-9)
    low, high = ds.bits_per_spike_ci.sel(source="m", target="k").values
    assert low <= 1e-9 and high >= -1e-9  # resampled trials: around 0


def test_a_zero_rate_under_a_spike_is_floored_not_infinite():
    counts = np.ones((2, 3))
    assert np.isfinite(bits_per_spike(np.zeros((2, 3)), counts, null_rates=np.ones(3)))
    assert bits_per_spike(np.zeros((2, 3)), counts, np.ones(3)) == pytest.approx(
        (6 * math.log(RATE_FLOOR) - (-6.0)) / (6 * math.log(2))
    )
