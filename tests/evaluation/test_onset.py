"""neuromix.response_onset and fit(start="auto"): where each subject's response starts.

The simulated rats' rates depend on the odor from their latency L (metadata["latency"]):
0.15 s for Barat, Buchanan and SuperChris, 0.4 s for Mitt and Stella, 100 ms before the
paper's windows (metadata["window_start"], 0.25 and 0.5 s). The statistic at a bin
averages the 50 ms up to that bin and must stay above threshold for 100 ms, so the
onset is found a little after L: the tolerance is [L - 10 ms, L + 60 ms] (measured:
L + 20-40 ms on seeds 0-2), always before the paper's window start.
"""

import dataclasses
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

import neuromix as nm
from neuromix.data import split_trials
from neuromix.plotting import plot_response_onset

LATE = {"Mitt", "Stella"}
TOLERANCE = (-0.01, 0.06)  # onset - latency, s


@pytest.fixture(scope="module")
def rec():
    return nm.datasets.simulate_odor_sequence(seed=0)


@pytest.fixture(scope="module")
def onsets(rec):
    return nm.response_onset(rec, subject_dim="rat")


def check_recovered(onsets, rec):
    for rat, r in rec.items():
        onset = float(onsets["onset"].sel(rat=rat))
        latency = r.metadata["latency"]
        assert latency + TOLERANCE[0] <= onset <= latency + TOLERANCE[1], (rat, onset)
        assert onset < r.metadata["window_start"]
    early = [float(onsets["onset"].sel(rat=r)) for r in rec if r not in LATE]
    late = [float(onsets["onset"].sel(rat=r)) for r in rec if r in LATE]
    assert min(late) - max(early) == pytest.approx(0.25, abs=0.04)


def test_recovers_the_simulated_onsets(onsets, rec):
    check_recovered(onsets, rec)


def test_recovers_the_simulated_onsets_of_another_seed():
    rec = nm.datasets.simulate_odor_sequence(seed=3)
    check_recovered(nm.response_onset(rec, subject_dim="rat", seed=1), rec)


def test_result_holds_the_time_course_threshold_and_method(onsets, rec):
    assert set(onsets.data_vars) >= {"onset", "statistic", "threshold", "null", "rate"}
    assert onsets["onset"].dims == ("rat",)
    assert onsets["statistic"].dims == ("rat", "time")
    assert list(onsets["rat"].values) == list(rec)
    time = onsets["time"].values
    np.testing.assert_allclose(time, np.arange(200) * 0.01)  # trials last 2 s
    assert onsets["onset"].attrs["units"] == "s"
    assert "F statistic" in onsets.attrs["method"] and "training trials" in onsets.attrs["method"]
    assert onsets.attrs["label"] == "odor" and onsets.attrs["min_duration"] == 0.1
    for rat, r in rec.items():
        one = onsets.sel(rat=rat)
        before = one["statistic"].sel(time=slice(0, r.metadata["latency"] - 0.01))
        assert float(before.max()) < float(one["threshold"])  # no label dependence yet
        after = one["statistic"].sel(time=slice(float(one["onset"]), float(one["onset"]) + 0.09))
        assert (after > one["threshold"]).all()
        assert float(one["null"].mean()) == pytest.approx(1.0, abs=0.15)  # F under H0
        test = split_trials(r.trials, test_size=0.2, stratify="odor", seed=0)
        assert int(one["n_train"]) == int((~test).sum())
        assert float(one["rate"].sel(time=0.0)) > 0


@pytest.fixture(scope="module")
def binned(rec):
    """Two rats' counts over the first second, as binned DataArrays."""
    return {s: nm.bin_trials(rec[s], start=0.0, stop=1.0) for s in ("Barat", "Mitt")}


def test_uses_training_trials_only(binned):
    before = nm.response_onset(binned, subject_dim="rat")
    changed, held_out = {}, {}
    rng = np.random.default_rng(1)
    for s, counts in binned.items():
        test = split_trials(
            counts["odor"].to_series().to_frame(), test_size=0.2, stratify="odor", seed=0
        )
        values = counts.values.copy()
        values[test] = rng.poisson(5.0, size=values[test].shape)  # held-out trials: junk
        changed[s], held_out[s] = counts.copy(data=values), test
    after = nm.response_onset(changed, subject_dim="rat")
    xr.testing.assert_identical(before, after)
    # ... while a change of training trials does change the statistic
    values, train = binned["Barat"].values.copy(), ~held_out["Barat"]
    values[train] = rng.poisson(5.0, size=values[train].shape)
    with pytest.warns(UserWarning, match="subject 'Barat': no response"):
        other = nm.response_onset(
            {**binned, "Barat": binned["Barat"].copy(data=values)}, subject_dim="rat"
        )
    assert not np.allclose(
        other["statistic"].sel(rat="Barat"), before["statistic"].sel(rat="Barat")
    )


def test_binned_input_gives_the_onsets_of_the_recording(binned, onsets):
    result = nm.response_onset(binned, subject_dim="rat")
    np.testing.assert_allclose(result["time"].values, np.arange(100) * 0.01)
    for s in binned:
        assert float(result["onset"].sel(rat=s)) == float(onsets["onset"].sel(rat=s))


def test_no_label_dependence_gives_nan_and_a_warning():
    """No odor dependence but a big label-independent rate step at 0.3 s: no onset."""
    rng = np.random.default_rng(0)
    n, n_units = 150, 30
    time = np.round(np.arange(100) * 0.01, 2)
    rate = np.where(time >= 0.3, 20.0, 2.0) * rng.lognormal(0, 0.5, (n_units, 1))
    counts = xr.DataArray(
        rng.poisson(rate * 0.01, size=(n, n_units, 100)),
        dims=("trial", "unit", "time"),
        coords={"time": time, "odor": ("trial", np.array(list("ABCD"))[np.arange(n) % 4])},
    )
    with pytest.warns(UserWarning, match="subject 'R1': no response depending on 'odor'"):
        result = nm.response_onset({"R1": counts})
    assert np.isnan(float(result["onset"].sel(subject="R1")))
    # the same with the odor changing the rate of half the units from 0.4 s: found there
    codes = np.arange(n) % 4
    tuned = np.broadcast_to(rate, (n, n_units, 100)).copy()
    tuned[:, :15, 40:] *= np.exp(0.5 * (codes[:, None, None] - 1.5))
    found = nm.response_onset({"R1": counts.copy(data=rng.poisson(tuned * 0.01))})
    assert 0.4 <= float(found["onset"].sel(subject="R1")) <= 0.45


def test_same_trials_as_fit_with_where_and_missing(rec):
    """where= and missing= select the trials as fit does (here Stella lacks odor E)."""
    sub = {s: rec[s] for s in ("Barat", "Stella")}
    stella = sub["Stella"]
    sub["Stella"] = dataclasses.replace(stella, trials=stella.trials[stella.trials.odor != "E"])
    with pytest.raises(ValueError, match="not every subject has every condition"):
        nm.response_onset(sub)
    result = nm.response_onset(sub, where={"correct": True}, missing="drop", seed=2)
    kept = sub["Barat"].trials
    kept = kept[kept.correct & (kept.odor != "E")]
    test = split_trials(kept, test_size=0.2, stratify="odor", seed=2)
    assert int(result["n_train"].sel(subject="Barat")) == int((~test).sum())


@pytest.fixture(scope="module")
def small():
    return nm.datasets.simulate_odor_sequence(
        seed=0, subjects=["Barat", "Mitt", "Stella"], n_trials=120, n_units=25
    )


@pytest.fixture(scope="module")
def auto_model(small):
    return nm.fit(
        small,
        subject_dim="rat",
        start="auto",
        where={"correct": True},
        epochs=1,
        progress=False,
        pairing="min",
    )


def test_fit_auto_starts_at_the_onsets_of_the_training_trials(auto_model, small):
    expected = nm.response_onset(small, subject_dim="rat", where={"correct": True})
    assert auto_model.starts_ == expected["onset"].to_series().to_dict()
    for s, start in auto_model.starts_.items():
        assert auto_model.stops_[s] == pytest.approx(start + 0.25)
        assert auto_model.counts_[s]["time"].values[0] == pytest.approx(start)
    assert auto_model.n_windows_ == 16
    assert auto_model.get_params()["start"] == "auto"


def test_fit_auto_per_subject(small, auto_model):
    model = nm.fit(
        small,
        subject_dim="rat",
        start={"Barat": "auto", "Mitt": 0.5, "Stella": "auto"},
        where={"correct": True},
        epochs=1,
        progress=False,
    )
    assert model.starts_["Mitt"] == 0.5
    assert model.starts_["Barat"] == auto_model.starts_["Barat"]
    assert model.starts_["Stella"] == auto_model.starts_["Stella"]


def test_fit_auto_round_trips_through_save(auto_model, tmp_path):
    loaded = nm.load(auto_model.save(tmp_path / "model"))
    assert loaded.starts_ == auto_model.starts_ and loaded.start == "auto"


def test_nwb_without_window_start_auto_windows_hold_the_odor(small, tmp_path):
    paths = nm.datasets.write_odor_sequence_nwb(small, tmp_path)
    read = nm.read_nwb(list(paths.values()))
    assert all("window_start" not in r.metadata for r in read.values())
    fits = {
        start: nm.fit(read, subject_dim="rat", start=start, epochs=1, progress=False)
        for start in ("auto", None)
    }
    auto, default = fits["auto"], fits[None]
    truth = nm.response_onset(small, subject_dim="rat")["onset"].to_series().to_dict()
    assert auto.starts_ == truth  # NWB round trip keeps the spikes and trials
    assert default.starts_ == dict.fromkeys(read, 0.0)  # what users got before "auto"
    # the odor is in the auto windows (a window classifier on the held-out trials; the
    # VAE's epoch does not matter for this "oracle"), not in the 0-250 ms windows
    oracle = {k: m.coherence()["oracle"].to_series() for k, m in fits.items()}
    chance = auto.coherence()["chance"].to_series()
    assert (oracle["auto"] > chance + 0.15).all(), (oracle, chance)
    assert (oracle["auto"] > oracle[None] + 0.1).all(), oracle


def test_fit_auto_without_a_response_names_the_subject():
    rec = nm.datasets.simulate_odor_sequence(seed=0, subjects=["Barat", "Mitt"], n_trials=80)
    flat = nm.datasets.simulate_odor_sequence(seed=0, subjects=["Mitt"], n_trials=80, gain=0.0)
    rec["Mitt"] = flat["Mitt"]
    with pytest.raises(ValueError, match="subject 'Mitt': start='auto': no response depending"):
        nm.fit(rec, subject_dim="rat", start="auto", epochs=1, progress=False)


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "match"),
    [
        (lambda r: r.trials.drop(columns="odor"), {}, ValueError, "subject 'Mitt': label 'odor'"),
        (
            lambda r: r.trials.iloc[:0],
            {},
            ValueError,
            "subject 'Mitt': trials: the recording has no",
        ),
        (
            lambda r: r.trials,
            {"where": {"odor": "Z"}},
            ValueError,
            "subject 'Barat': trials: no trial matches",
        ),
        (lambda r: r.trials.assign(odor="A"), {"missing": "drop"}, ValueError, "at least two"),
        (lambda r: r.trials, {"level": 1.5}, ValueError, "level must be"),
        (lambda r: r.trials, {"n_shuffles": 0}, ValueError, "n_shuffles must be"),
        (lambda r: r.trials, {"max_time": 5.0}, ValueError, "runs past the end of trials"),
    ],
)
def test_bad_inputs_name_the_subject(change, kwargs, error, match):
    rec = nm.datasets.simulate_odor_sequence(
        seed=0, subjects=["Barat", "Mitt"], n_trials=30, n_units=3
    )
    rec["Mitt"] = dataclasses.replace(rec["Mitt"], trials=change(rec["Mitt"]))
    with pytest.raises(error, match=match):
        nm.response_onset(rec, **kwargs)


def test_a_datatree_gives_the_onsets_of_the_mapping(binned, onsets):
    # the same containers as fit: one node of binned counts per subject
    tree = xr.DataTree.from_dict({s: c.to_dataset(name="counts") for s, c in binned.items()})
    tree.attrs["subject_dim"] = "rat"
    result = nm.response_onset(tree, subject_dim="rat")
    for s in binned:
        assert float(result["onset"].sel(rat=s)) == float(onsets["onset"].sel(rat=s))
    with pytest.raises(ValueError, match="does not match the input"):
        nm.response_onset(tree, subject_dim="mouse")


def test_bad_containers():
    rec = nm.datasets.simulate_odor_sequence(seed=0, subjects=["Barat"], n_trials=10, n_units=2)
    with pytest.raises(TypeError, match="not a single Recording"):
        nm.response_onset(rec["Barat"])
    with pytest.raises(TypeError, match="non-empty mapping"):
        nm.response_onset({})
    with pytest.raises(TypeError, match="subject 'Barat': expected a Recording"):
        nm.response_onset({"Barat": np.zeros((2, 2, 2))})
    with pytest.raises(ValueError, match="start must be None, 'auto'"):
        nm.fit(rec, start="automatic", method="independent", epochs=1, progress=False)


def test_plot_one_panel_per_subject_and_overlaid(onsets):
    fig = plot_response_onset(onsets)
    visible = [a for a in fig.axes if a.get_visible()]
    assert len(visible) == 5
    barat = visible[0]
    assert barat.get_title() == f"Barat: onset {float(onsets.onset.sel(rat='Barat')):.2f} s"
    vertical = [line for line in barat.get_lines() if len(set(line.get_xdata())) == 1]
    assert [line.get_xdata()[0] for line in vertical] == [float(onsets.onset.sel(rat="Barat"))]
    _, ax = plt.subplots()
    assert plot_response_onset(onsets, ax=ax) is ax.figure
    assert len(ax.get_legend().get_texts()) == 5
    plt.close("all")
    with pytest.raises(ValueError, match="one Axes"):
        _, axes = plt.subplots(1, 2)
        plot_response_onset(onsets, ax=axes)
    with pytest.raises(ValueError, match="has no 'onset'"):
        plot_response_onset(onsets.drop_vars("onset"))
    plt.close("all")


def test_no_warning_for_found_onsets(rec):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nm.response_onset({s: rec[s] for s in ("Barat", "Mitt")})
