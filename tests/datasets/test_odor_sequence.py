"""Tests of the simulated odor-sequence rats and the real trial tables they are built on."""

from __future__ import annotations

import importlib.resources
from contextlib import nullcontext as does_not_raise

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from neuromix.data.recording import Recording
from neuromix.datasets.odor_sequence import (
    load_trial_info,
    simulate_odor_sequence,
    trial_table,
    write_odor_sequence_nwb,
)

# Published facts (data README and the paper): trials, neurons, window start.
RATS = {
    "Barat": (176, 92, 0.25),
    "Buchanan": (270, 79, 0.25),
    "Mitt": (292, 104, 0.5),
    "Stella": (222, 49, 0.5),
    "SuperChris": (240, 46, 0.25),
}
FOLDS = StratifiedKFold(5, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def rats() -> dict[str, Recording]:
    """All five rats at full size, as a user gets them by default."""
    return simulate_odor_sequence(seed=0)


@pytest.fixture(scope="module")
def tiny() -> dict[str, Recording]:
    return simulate_odor_sequence(seed=3, n_units=6, n_trials=12)


def counts(recording: Recording, start: float, n_bins: int, width: float = 0.01) -> np.ndarray:
    """Spike counts (trial, unit, bin) in bins [a, b) from ``start`` s after each onset."""
    onsets = recording.trials["start_time"].to_numpy()
    edges = onsets[:, None] + start + width * np.arange(n_bins + 1)
    out = np.empty((len(onsets), recording.n_units, n_bins), dtype=np.int64)
    for unit, times in enumerate(recording.spike_times):
        out[:, unit] = np.diff(np.searchsorted(times, edges), axis=1)
    return out


def odor_a_to_d(recording: Recording) -> np.ndarray:
    return (recording.trials["odor"] != "E").to_numpy()


# --- real trial tables ----------------------------------------------------------------


@pytest.mark.parametrize(("subject", "n_trials"), [(s, n) for s, (n, _, _) in RATS.items()])
def test_load_trial_info_is_the_shipped_array(subject, n_trials):
    stem = "Superchris" if subject == "SuperChris" else subject
    resource = importlib.resources.files("neuromix.datasets.odor_sequence") / "_data"
    with (resource / f"{stem}_trial_info.npy").open("rb") as handle:
        expected = trial_table(np.load(handle))
    table = load_trial_info(subject)
    assert len(table) == n_trials
    pd.testing.assert_frame_equal(table, expected)


def test_load_trial_info_counts_of_the_readme():
    # Correct, in-sequence trials of odors A-D per rat (data README).
    barat = load_trial_info("Barat")
    kept = barat[barat["correct"] & barat["in_sequence"] & (barat["odor"] != "E")]
    assert kept["odor"].value_counts().sort_index().tolist() == [48, 34, 25, 26]


@pytest.mark.parametrize("spelling", ["SuperChris", "Superchris", "superchris", "SUPERCHRIS"])
def test_load_trial_info_accepts_both_spellings(spelling):
    assert len(load_trial_info(spelling)) == 240


# --- structure of the simulation --------------------------------------------------------


@pytest.mark.parametrize("subject", list(RATS))
def test_each_rat_has_published_units_and_real_trials(rats, subject):
    n_trials, n_units, window_start = RATS[subject]
    rec = rats[subject]
    assert rec.subject == subject
    assert rec.n_units == n_units == len(rec.unit_ids)
    assert rec.n_trials == n_trials
    assert rec.time_resolution == 1e-3
    assert list(rec.trials.columns[:2]) == ["start_time", "stop_time"]
    pd.testing.assert_frame_equal(
        rec.trials.drop(columns=["start_time", "stop_time"]), load_trial_info(subject)
    )
    start = rec.trials["start_time"].to_numpy()
    np.testing.assert_allclose(rec.trials["stop_time"] - start, 2.0)
    gaps = np.diff(start)
    assert np.all((gaps >= 2.0 + 1.5) & (gaps <= 2.0 + 3.0))
    meta = rec.metadata
    assert meta["window_start"] == window_start
    assert meta["latency"] == pytest.approx(window_start - 0.1)
    assert meta["source"] == "simulate_odor_sequence"
    assert meta["seed"] == 0
    assert meta["session"][0] == 0.0
    assert rec.trials["stop_time"].iloc[-1] + 1.5 <= meta["session"][1]


def test_rats_come_in_the_published_order(rats):
    assert list(rats) == list(RATS)


@pytest.mark.parametrize("subject", list(RATS))
def test_spikes_are_sorted_ticks_within_the_session(rats, subject):
    rec = rats[subject]
    end = rec.metadata["session"][1]
    for times in rec.spike_times:
        assert times.ndim == 1
        assert times.dtype == np.float64
        assert np.all(np.diff(times) > 0)  # sorted, one spike per tick at most
        assert times[0] >= 0.0 and times[-1] < end
        ticks = times / rec.time_resolution
        np.testing.assert_allclose(ticks, np.round(ticks), rtol=0, atol=1e-6)


def test_spikes_between_trials_fire_at_baseline(rats):
    # Between epochs the rate is exp(b_n): the count over all gaps is Poisson with that mean.
    rec = rats["Mitt"]
    start = rec.trials["start_time"].to_numpy()
    end = rec.metadata["session"][1]
    gaps = np.column_stack([np.r_[0.0, start[:-1] + 2.0], start])
    gaps = np.vstack([gaps, [start[-1] + 2.0, end]])
    rate = np.exp(rec.metadata["tuning"]["baseline"].to_numpy())
    expected = rate * np.sum(gaps[:, 1] - gaps[:, 0])
    observed = np.array(
        [
            np.sum(np.searchsorted(t, gaps[:, 1]) - np.searchsorted(t, gaps[:, 0]))
            for t in rec.spike_times
        ]
    )
    z = (observed - expected) / np.sqrt(expected)
    assert np.all(np.abs(z) < 4.5)
    assert abs(z.sum() / np.sqrt(len(z))) < 4


def test_epoch_counts_match_the_integrated_rate():
    # Independent computation of E[count] = int lambda_n(t) dt from the returned ground
    # truth (1 ms Riemann sum of the documented model), against the simulated spikes.
    rec = simulate_odor_sequence(seed=5, subjects="Barat", n_units=20, n_trials=80)["Barat"]
    meta = rec.metadata
    latent = meta["latent"]
    t = np.arange(2000) * 1e-3 + 0.5e-3  # bin centres after onset
    s = t - meta["latency"]
    z = np.stack(
        [
            np.interp(s, latent["time"].to_numpy(), latent[k, :, d].to_numpy(), left=0.0)
            for k in range(rec.n_trials)
            for d in range(latent.sizes["latent"])
        ]
    ).reshape(rec.n_trials, latent.sizes["latent"], len(t))
    weights = meta["tuning"]["weight"].to_numpy()
    baseline = meta["tuning"]["baseline"].to_numpy()
    rate = np.exp(baseline[None, :, None] + np.einsum("nd,kdt->knt", weights, z))
    expected = rate.sum(axis=(0, 2)) * 1e-3
    observed = counts(rec, 0.0, 1, width=2.0).sum(axis=(0, 2))
    z_scores = (observed - expected) / np.sqrt(expected)
    assert np.all(np.abs(z_scores) < 4.5), z_scores
    assert observed.sum() > 1.2 * np.exp(baseline).sum() * 2.0 * rec.n_trials  # not baseline


def test_same_seed_same_spikes_other_seed_differs():
    first = simulate_odor_sequence(seed=7, n_units=4, n_trials=5)
    again = simulate_odor_sequence(seed=7, n_units=4, n_trials=5)
    other = simulate_odor_sequence(seed=8, n_units=4, n_trials=5)
    for subject in RATS:
        for a, b in zip(first[subject].spike_times, again[subject].spike_times, strict=True):
            np.testing.assert_array_equal(a, b)
        pd.testing.assert_frame_equal(first[subject].trials, again[subject].trials)
        assert not np.array_equal(
            np.concatenate(first[subject].spike_times), np.concatenate(other[subject].spike_times)
        )
        assert not np.array_equal(
            first[subject].metadata["latent"], other[subject].metadata["latent"]
        )


def test_a_rat_does_not_depend_on_the_others_or_on_its_unit_count(tiny):
    alone = simulate_odor_sequence(seed=3, subjects=["mitt"], n_units=6, n_trials=12)["Mitt"]
    for a, b in zip(alone.spike_times, tiny["Mitt"].spike_times, strict=True):
        np.testing.assert_array_equal(a, b)
    wider = simulate_odor_sequence(seed=3, subjects="Mitt", n_units=9, n_trials=12)["Mitt"]
    np.testing.assert_array_equal(wider.metadata["latent"], alone.metadata["latent"])
    pd.testing.assert_frame_equal(wider.trials, alone.trials)


def test_options_for_tiny_settings(tiny):
    assert all(rec.n_units == 6 and rec.n_trials == 12 for rec in tiny.values())
    mixed = simulate_odor_sequence(seed=0, subjects=["Barat", "Stella"], n_units={"stella": 3})
    assert (mixed["Barat"].n_units, mixed["Stella"].n_units) == (92, 3)
    assert simulate_odor_sequence(subjects="Barat", n_trials=1000)["Barat"].n_trials == 176


def test_continuous_and_finer_clocks():
    fine = simulate_odor_sequence(subjects="Stella", n_units=3, n_trials=4, time_resolution=1e-4)
    times = np.concatenate(fine["Stella"].spike_times)
    np.testing.assert_allclose(times * 1e4, np.round(times * 1e4), rtol=0, atol=1e-5)
    free = simulate_odor_sequence(subjects="Stella", n_units=3, n_trials=4, time_resolution=None)
    rec = free["Stella"]
    assert rec.time_resolution is None
    assert all(np.all(np.diff(t) > 0) for t in rec.spike_times)
    assert not np.allclose(np.concatenate(rec.spike_times) * 1e3 % 1, 0)


# --- ground truth -----------------------------------------------------------------------


@pytest.mark.parametrize("latent_dim", [1, 2, 3])
def test_ground_truth_latent_has_the_documented_form(latent_dim):
    rec = simulate_odor_sequence(
        seed=1, subjects="Buchanan", n_units=5, n_trials=30, latent_dim=latent_dim
    )["Buchanan"]
    latent = rec.metadata["latent"]
    assert latent.dims == ("trial", "time", "latent")
    assert latent.shape == (30, 201, latent_dim)
    np.testing.assert_allclose(latent["time"], np.arange(201) * 0.01)
    np.testing.assert_array_equal(latent["trial"], rec.trials.index)
    np.testing.assert_array_equal(latent["odor"], rec.trials["odor"])
    np.testing.assert_array_equal(latent.sel(time=0.0), 0.0)  # z = 0 at onset
    assert np.abs(latent.sel(time=2.0)).max() < 0.05  # response over by the epoch's end
    assert "before the rat's latency shift" in latent.attrs["description"]
    tuning = rec.metadata["tuning"]
    assert tuning["weight"].shape == (5, latent_dim)
    assert tuning["baseline"].shape == (5,)
    rates = np.exp(tuning["baseline"])
    assert np.all((rates >= 0.2) & (rates <= 40))


def test_latent_points_along_the_shared_odor_directions(rats):
    for rec in rats.values():
        latent = rec.metadata["latent"].sel(time=0.2)
        directions = rec.metadata["odor_directions"]
        means = latent.groupby("odor").mean()
        cosine = (means * directions).sum("latent") / np.sqrt((means**2).sum("latent"))
        assert np.all(cosine > 0.95)


def test_odor_directions_are_shared_and_readouts_are_not(rats):
    barat, mitt = rats["Barat"], rats["Mitt"]
    np.testing.assert_array_equal(
        barat.metadata["odor_directions"], mitt.metadata["odor_directions"]
    )
    # A classifier of Barat's true latent transfers to Mitt's as well as Mitt's own does:
    # one latent space ...
    x_barat = barat.metadata["latent"].sel(time=0.2).to_numpy()
    x_mitt = mitt.metadata["latent"].sel(time=0.2).to_numpy()
    transfer = LogisticRegression().fit(x_barat, barat.trials["odor"])
    own = LogisticRegression().fit(x_mitt[::2], mitt.trials["odor"].iloc[::2])
    odor_mitt = mitt.trials["odor"].iloc[1::2]
    assert transfer.score(x_mitt[1::2], odor_mitt) > own.score(x_mitt[1::2], odor_mitt) - 0.05
    assert transfer.score(x_mitt, mitt.trials["odor"]) > 0.5  # chance 0.2
    # ... read out by unrelated neurons.
    w_barat = barat.metadata["tuning"]["weight"].to_numpy()[:46]
    w_chris = rats["SuperChris"].metadata["tuning"]["weight"].to_numpy()
    assert abs(np.corrcoef(w_barat.ravel(), w_chris.ravel())[0, 1]) < 0.3


# --- decodability and latency -----------------------------------------------------------


@pytest.fixture
def one_blas_thread():
    # The matrices here are small: BLAS threads only add spin-waiting, which costs 10x on
    # a loaded two-core machine.
    with threadpool_limits(1):
        yield


@pytest.mark.usefixtures("one_blas_thread")
@pytest.mark.parametrize("subject", list(RATS))
def test_odor_decodes_from_a_2d_pca_of_the_paper_windows(rats, subject):
    # The paper's input: 16 windows of 100 ms (10 bins of 10 ms, 10 ms steps) per trial from
    # the rat's window start, flattened neuron-major; odors A-D; train/test split by trial.
    rec = rats[subject]
    keep = odor_a_to_d(rec)
    binned = counts(rec, rec.metadata["window_start"], 25)[keep]
    odor = rec.trials["odor"].to_numpy()[keep]
    windows = np.stack([binned[:, :, i : i + 10] for i in range(16)], axis=1)
    windows = windows.reshape(len(odor) * 16, -1).astype(float)
    window_odor = np.repeat(odor, 16)
    scores = []
    for train, test in FOLDS.split(odor, odor):
        train, test = (np.isin(np.repeat(np.arange(len(odor)), 16), i) for i in (train, test))
        pca = PCA(2, svd_solver="randomized", random_state=0).fit(windows[train])
        clf = LogisticRegression().fit(pca.transform(windows[train]), window_odor[train])
        scores.append(clf.score(pca.transform(windows[test]), window_odor[test]))
    majority = pd.Series(odor).value_counts(normalize=True).max()
    # Measured with seeds 0-2: 0.67-0.79 over the five rats (chance 0.25, majority <= 0.39).
    assert majority + 0.2 < np.mean(scores) < 0.9


def odor_f(rec: Recording, start: float, width: float) -> float:
    """Odor information in one window: one-way ANOVA F of the counts (odors A-D), unit mean.

    Under no odor information F is about 1 whatever the rates.
    """
    keep = odor_a_to_d(rec)
    x = counts(rec, start, 1, width=width)[keep, :, 0].astype(float)
    odor = rec.trials["odor"].to_numpy()[keep]
    groups = [x[odor == o] for o in np.unique(odor)]
    between = sum(len(g) * (g.mean(0) - x.mean(0)) ** 2 for g in groups) / (len(groups) - 1)
    within = sum(((g - g.mean(0)) ** 2).sum(0) for g in groups) / (len(x) - len(groups))
    active = within > 0
    return float(np.mean(between[active] / within[active]))


@pytest.mark.parametrize("subject", list(RATS))
def test_odor_information_starts_at_the_rats_latency(rats, subject):
    rec = rats[subject]
    latency, window_start = rec.metadata["latency"], rec.metadata["window_start"]
    # Measured with seeds 0-2: F 0.87-1.18 before the response, 16-25 in the windows.
    assert odor_f(rec, 0.0, latency) < 1.5
    assert odor_f(rec, window_start, 0.25) > 8
    starts = np.round(np.arange(0.0, 1.0, 0.05), 2)
    profile = np.array([odor_f(rec, s, 0.1) for s in starts])
    onset = starts[np.argmax(profile > 3)]
    assert latency - 0.05 <= onset <= latency + 0.05


def test_odor_information_peaks_later_for_mitt_than_for_barat(rats):
    starts = np.arange(0.0, 1.0, 0.05)
    peak = {
        name: starts[np.argmax([odor_f(rats[name], s, 0.1) for s in starts])]
        for name in ("Barat", "Mitt")
    }
    # Measured with seeds 0-2: Barat 0.30-0.40 s, Mitt 0.50-0.55 s (latencies 0.15, 0.4 s).
    assert peak["Barat"] + 0.1 < peak["Mitt"]


# --- NWB ------------------------------------------------------------------------------


def test_write_odor_sequence_nwb_round_trips(tmp_path, tiny):
    nwb = pytest.importorskip("neuromix.io.nwb")
    chosen = {name: tiny[name] for name in ("Barat", "SuperChris")}
    paths = write_odor_sequence_nwb(chosen, tmp_path / "rats")
    assert {k: p.name for k, p in paths.items()} == {
        "Barat": "Barat.nwb",
        "SuperChris": "SuperChris.nwb",
    }
    back = nwb.read_nwb([paths["Barat"], paths["SuperChris"]])
    for name, rec in chosen.items():
        assert back[name].subject == name
        for a, b in zip(rec.spike_times, back[name].spike_times, strict=True):
            np.testing.assert_array_equal(a, np.asarray(b))
        pd.testing.assert_frame_equal(
            back[name].trials[rec.trials.columns], rec.trials, check_dtype=False
        )
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_odor_sequence_nwb(chosen, tmp_path / "rats")
    assert write_odor_sequence_nwb(chosen, tmp_path / "rats", overwrite=True) == paths


@pytest.mark.parametrize(
    ("recordings", "expectation"),
    [
        ([1, 2], pytest.raises(TypeError, match="mapping of subject to Recording")),
        ({"Barat": "x"}, pytest.raises(TypeError, match=r"recordings\['Barat'\] must be")),
        ({}, does_not_raise()),
    ],
)
def test_write_odor_sequence_nwb_rejects_bad_input(tmp_path, recordings, expectation):
    with expectation:
        assert write_odor_sequence_nwb(recordings, tmp_path) == {}


def test_write_odor_sequence_nwb_rejects_two_files_of_one_name(tmp_path, tiny):
    with pytest.raises(ValueError, match=r"two recordings would be written to Mitt\.nwb"):
        write_odor_sequence_nwb({"a": tiny["Mitt"], "b": tiny["Mitt"]}, tmp_path)
    assert not any(tmp_path.iterdir())


# --- argument checking ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expectation"),
    [
        ("Bob", pytest.raises(ValueError, match="unknown subject 'Bob'; valid subjects are")),
        ("", pytest.raises(ValueError, match="'Barat', 'Buchanan', 'Mitt', 'Stella'")),
        (3, pytest.raises(TypeError, match="subject must be a string, got int")),
        ("stella", does_not_raise()),
    ],
)
def test_load_trial_info_rejects_unknown_subjects(subject, expectation):
    with expectation:
        load_trial_info(subject)


@pytest.mark.parametrize(
    ("kwargs", "expectation"),
    [
        ({"subjects": "Bob"}, pytest.raises(ValueError, match="unknown subject 'Bob'")),
        ({"subjects": []}, pytest.raises(ValueError, match="subjects is empty")),
        (
            {"subjects": ["Barat", "barat"]},
            pytest.raises(ValueError, match="subjects lists Barat more than once"),
        ),
        ({"n_units": 0}, pytest.raises(ValueError, match="n_units must be at least 1, got 0")),
        ({"n_units": 2.5}, pytest.raises(TypeError, match="n_units must be an integer")),
        (
            {"n_units": {"Mitt": 0}},
            pytest.raises(ValueError, match=r"n_units\['Mitt'\] must be at least 1"),
        ),
        ({"n_units": {"Bob": 3}}, pytest.raises(ValueError, match="unknown subject 'Bob'")),
        ({"n_trials": 0}, pytest.raises(ValueError, match="n_trials must be at least 1")),
        ({"n_trials": True}, pytest.raises(TypeError, match="n_trials must be an integer")),
        ({"latent_dim": 0}, pytest.raises(ValueError, match="latent_dim must be at least 1")),
        ({"seed": -1}, pytest.raises(ValueError, match="seed must be a non-negative integer")),
        ({"seed": 1.5}, pytest.raises(ValueError, match="seed must be a non-negative integer")),
        (
            {"time_resolution": 0.01},
            pytest.raises(ValueError, match=r"time_resolution must lie in \(0, 1e-3\]"),
        ),
        (
            {"time_resolution": 0},
            pytest.raises(ValueError, match=r"time_resolution must lie in \(0, 1e-3\]"),
        ),
        ({"time_resolution": "1ms"}, pytest.raises(TypeError, match="time_resolution must be")),
        ({"gain": -1.0}, pytest.raises(ValueError, match="gain must be finite and non-negative")),
        (
            {"latent_noise": np.nan},
            pytest.raises(ValueError, match="latent_noise must be finite and non-negative"),
        ),
        ({"iti": (3.0, 1.5)}, pytest.raises(ValueError, match="low <= high")),
        ({"iti": 2.0}, pytest.raises(ValueError, match=r"iti must be a pair \(low, high\)")),
        ({"iti": (-1.0, 2.0)}, pytest.raises(ValueError, match="iti must be finite")),
        ({"subjects": "superchris", "n_units": {"SuperChris": 2}}, does_not_raise()),
        ({"gain": 0.0, "latent_noise": 0.0, "iti": (2.0, 2.0)}, does_not_raise()),
    ],
)
def test_simulate_rejects_bad_arguments(kwargs, expectation):
    settings = {"subjects": "Stella", "n_units": 2, "n_trials": 2} | kwargs
    with expectation:
        recordings = simulate_odor_sequence(**settings)
        assert all(isinstance(rec, Recording) for rec in recordings.values())
