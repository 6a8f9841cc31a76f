"""Every bad recordings input of the data path, pinned by its message (raised before fitting)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import neuromix as nm


@pytest.fixture(scope="module")
def rec():
    return nm.datasets.simulate_odor_sequence(
        seed=1, n_trials=30, n_units=6, subjects=["Barat", "Mitt", "Stella"]
    )


def _trials(n=4, odors=("A", "B", "A", "B")):
    return pd.DataFrame(
        {
            "start_time": np.arange(n) * 3.0 + 1.0,
            "stop_time": np.arange(n) * 3.0 + 3.0,
            "odor": list(odors),
        }
    )


def _spikes(trials):
    return [np.sort(np.concatenate([t + np.array([0.3, 0.35, 0.6]) for t in trials.start_time]))]


ARRAY_CASES = [
    ([np.array([])], _trials(), r"subject 'R1': spike_times: .*no spikes"),
    ([np.array([1.5, 1.2, 4.4])], _trials(), r"subject 'R1': spike_times: unit 0 is not sorted"),
    ([np.array([-0.5, 1.2, 4.4])], _trials(), r"subject 'R1': spike_times: unit 0 .*negative"),
    (
        [np.array([100.0, 101.0])],
        _trials(),
        r"subject 'R1': spike_times: spikes outside every trial",
    ),
    (None, _trials().iloc[:0], r"subject 'R1': trials: .*no trials"),
]


@pytest.mark.parametrize(("spikes", "trials", "match"), ARRAY_CASES)
def test_from_arrays_bad_input(spikes, trials, match):
    spikes = _spikes(_trials()) if spikes is None else spikes
    with pytest.raises(ValueError, match=match):
        nm.from_arrays(spikes, trials, subject="R1")


def _drop_label(rec):
    out = dict(rec)
    r = out["Mitt"]
    out["Mitt"] = nm.Recording(
        r.subject,
        r.spike_times,
        r.unit_ids,
        r.trials.drop(columns="odor"),
        r.time_resolution,
        r.metadata,
    )
    return out


def _without_odor(rec, odor, subject="Stella"):
    out = dict(rec)
    r = out[subject]
    out[subject] = nm.Recording(
        r.subject,
        r.spike_times,
        r.unit_ids,
        r.trials[r.trials.odor != odor],
        r.time_resolution,
        r.metadata,
    )
    return out


FIT_CASES = [
    (
        lambda rec: _drop_label(rec),
        {},
        r"subject 'Mitt': label 'odor' is missing from the trial table",
    ),
    (
        lambda rec: _without_odor(rec, "E"),
        {},
        r"label 'odor': not every subject has every condition \('E' missing in \['Stella'\]\); "
        r"pass missing='drop'",
    ),
    (
        lambda rec: {"Barat": rec["Barat"]},
        {"method": "mmvm"},
        r"method 'mmvm' is a joint method and needs at least two subjects; got 1 \('Barat'\)",
    ),
    (
        lambda rec: {"Barat": rec["Barat"]},
        {"method": "poe"},
        r"method 'poe' is a joint method and needs at least two subjects",
    ),
    (lambda rec: rec, {"stop": 2.5}, r"subject 'Barat'.*(past the end|stop_time)"),
    (lambda rec: rec, {"start": {"Barat": 0.25}}, r"start: no value for subject 'Mitt'"),
    (
        lambda rec: rec,
        {
            "start": {"Barat": 0.25, "Mitt": 0.5, "Stella": 0.5},
            "stop": {"Barat": 0.5, "Mitt": 0.8, "Stella": 0.75},
        },
        r"start/stop: subjects get different numbers of windows \('Barat': 16, 'Mitt': 21, 'Stella': 16\)",
    ),
    (
        lambda rec: rec["Barat"],
        {},
        r"recordings must be a mapping subject -> recording, e.g. \{'Barat': recording\}",
    ),
    (lambda rec: [rec["Barat"]], {}, r"recordings must be a non-empty mapping"),
    (lambda rec: rec, {"where": {"poke": 1}}, r"subject 'Barat'.*poke"),
    (lambda rec: rec, {"label": "odour"}, r"subject 'Barat': label 'odour' is missing"),
    (lambda rec: rec, {"pairing": "random"}, r"pairing must be one of 'min', 'resample'"),
]


@pytest.mark.parametrize(("make", "params", "match"), FIT_CASES)
def test_fit_bad_input(rec, make, params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        nm.fit(make(rec), subject_dim="rat", epochs=1, progress=False, **params)


def test_dropping_a_missing_condition_is_offered_and_works(rec):
    m = nm.fit(
        _without_odor(rec, "E"), subject_dim="rat", missing="drop", epochs=1, progress=False
    )
    for s in m.subjects_:
        assert "E" not in set(m.counts_[s].odor.values)


def test_subject_dim_that_does_not_match_the_input(rec):
    counts = {s: nm.bin_trials(r, start=0.25, stop=0.5) for s, r in rec.items()}
    n_units = min(c.sizes["unit"] for c in counts.values())
    stacked = xr.concat(
        [
            c.isel(unit=slice(0, n_units))
            .drop_vars(["unit", "trial"])
            .isel(trial=slice(0, 20))
            .assign_coords(trial=np.arange(20), unit=np.arange(n_units))
            for c in counts.values()
        ],
        dim="mouse",
    ).assign_coords(mouse=list(counts))
    with pytest.raises(
        ValueError, match=r"subject_dim 'rat' is not a dimension of the input \(dims: \('mouse'"
    ):
        nm.fit(stacked, subject_dim="rat", epochs=1, progress=False)
    tree = xr.DataTree.from_dict({s: xr.Dataset({"counts": c}) for s, c in counts.items()})
    tree.attrs["subject_dim"] = "mouse"
    with pytest.raises(
        ValueError, match=r"subject_dim 'rat' does not match the input, whose subjects are 'mouse'"
    ):
        nm.fit(tree, subject_dim="rat", epochs=1, progress=False)


def test_units_with_different_ids_at_transform(rec):
    m = nm.fit(rec, subject_dim="rat", epochs=1, progress=False)
    r = rec["Mitt"]
    renamed = nm.Recording(
        r.subject, r.spike_times, r.unit_ids + 100, r.trials, r.time_resolution, r.metadata
    )
    with pytest.raises(ValueError, match=r"subject 'Mitt': unit ids differ from those at fit"):
        m.transform({"Mitt": renamed})
