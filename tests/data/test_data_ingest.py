"""from_arrays and from_xarray: validation at the boundary, copies, the binned form."""

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuromix.data import Recording, bin_trials, from_arrays, from_xarray


def _trials(**extra):
    table = pd.DataFrame(
        {"start_time": [0.0, 2.0, 4.0], "stop_time": [1.0, 3.0, 5.0], "odor": ["A", "B", "A"]}
    )
    for name, values in extra.items():
        table[name] = values
    return table


def _spikes():
    return [np.array([0.1, 0.5, 2.2]), np.array([4.5]), np.array([0.3, 2.9, 4.1, 4.2])]


def test_from_arrays_returns_validated_copies():
    spikes, trials = _spikes(), _trials()
    spikes_before = [s.copy() for s in spikes]
    trials_before = trials.copy()
    rec = from_arrays(spikes, trials, subject="R1", unit_ids=["a", "b", "c"], metadata={"x": 1})
    assert isinstance(rec, Recording)
    assert rec.subject == "R1" and rec.n_units == 3 and rec.n_trials == 3
    assert rec.unit_ids.tolist() == ["a", "b", "c"]
    for mine, theirs in zip(rec.spike_times, spikes, strict=True):
        assert mine.dtype == np.float64
        assert not np.shares_memory(mine, theirs)
        assert not mine.flags.writeable
    assert rec.trials is not trials
    assert rec.trials.index.name == "trial"
    rec.trials.loc[0, "odor"] = "Z"  # the copy, not the caller's table
    pd.testing.assert_frame_equal(trials, trials_before)
    for now, before in zip(spikes, spikes_before, strict=True):
        np.testing.assert_array_equal(now, before)
    assert rec.metadata == {"x": 1}


def test_from_arrays_defaults():
    rec = from_arrays([[0.1, 0.2], []], _trials(), subject="R1")
    assert rec.unit_ids.tolist() == [0, 1]
    assert rec.time_resolution is None
    assert rec.labels == ["odor"]


def _with(trials=None, spikes=None, **kwargs):
    kwargs.setdefault("subject", "R1")
    return (
        (spikes if spikes is not None else _spikes()),
        (trials if trials is not None else _trials()),
        kwargs,
    )


# More rows (non-numeric, non-finite or huge spike times; reversed, zero-length,
# overlapping or duplicated trials) are in tests/test_bad_input.py.
FROM_ARRAYS_ERRORS = [
    pytest.param(
        _with(spikes=[[], [], []]),
        ValueError,
        "subject 'R1': spike_times: no spikes in any unit",
        id="no-spikes",
    ),
    pytest.param(
        _with(spikes=[]), ValueError, "subject 'R1': spike_times: no units", id="no-units"
    ),
    pytest.param(
        _with(spikes=[[0.1], [0.2], [0.3], [0.5, 0.4]]),
        ValueError,
        "subject 'R1': spike_times: unit 3 is not sorted",
        id="unsorted",
    ),
    pytest.param(
        _with(spikes=[[-0.1, 0.5]]),
        ValueError,
        "subject 'R1': spike_times: unit 0 has negative spike times",
        id="negative",
    ),
    pytest.param(
        _with(spikes=np.array([0.1, 0.2])),
        TypeError,
        "subject 'R1': spike_times: expected one array per unit",
        id="flat-array",
    ),
    pytest.param(
        _with(spikes=[[[0.1, 0.2]]]),
        ValueError,
        "subject 'R1': spike_times: unit 0 is not a 1-D array",
        id="2d-unit",
    ),
    pytest.param(
        _with(spikes="abc"),
        TypeError,
        "subject 'R1': spike_times: expected a sequence",
        id="string",
    ),
    pytest.param(
        _with(trials=_trials().iloc[:0]),
        ValueError,
        "subject 'R1': trials: no trials",
        id="no-trials",
    ),
    pytest.param(
        _with(trials=_trials().drop(columns="start_time")),
        ValueError,
        "subject 'R1': trials: missing column(s) ['start_time']",
        id="no-start-time",
    ),
    pytest.param(
        _with(trials=_trials().drop(columns=["start_time", "stop_time"])),
        ValueError,
        "subject 'R1': trials: missing column(s) ['start_time', 'stop_time']",
        id="no-times",
    ),
    pytest.param(
        _with(trials=_trials().set_axis([1, 1, 2])),
        ValueError,
        "subject 'R1': trials: duplicated trial ids [1]",
        id="duplicated-trials",
    ),
    pytest.param(
        _with(trials=_trials(time=[1, 2, 3])),
        ValueError,
        "subject 'R1': trials: column(s) ['time'] have the name of a dimension",
        id="reserved-column",
    ),
    pytest.param(
        _with(trials=_trials().to_numpy()),
        TypeError,
        "subject 'R1': trials: expected a pandas.DataFrame",
        id="trials-not-frame",
    ),
    pytest.param(
        _with(spikes=[[1.5], [3.5, 3.6]]),
        ValueError,
        "subject 'R1': spike_times: spikes outside every trial",
        id="outside-trials",
    ),
    pytest.param(
        _with(unit_ids=[1, 2]),
        ValueError,
        "subject 'R1': unit_ids: 2 ids for 3 units",
        id="unit-ids-length",
    ),
    pytest.param(
        _with(unit_ids=[1, 2, 1]),
        ValueError,
        "subject 'R1': unit_ids: duplicated ids [1]",
        id="unit-ids-duplicated",
    ),
    pytest.param(
        _with(time_resolution=-1.0),
        ValueError,
        "subject 'R1': time_resolution: must be a positive",
        id="resolution",
    ),
    pytest.param(
        _with(metadata=[1]),
        TypeError,
        "subject 'R1': metadata: expected a mapping",
        id="metadata",
    ),
    pytest.param(_with(subject=""), TypeError, "subject: expected a non-empty string", id="subj"),
]


@pytest.mark.parametrize(("case", "error", "message"), FROM_ARRAYS_ERRORS)
def test_from_arrays_errors(case, error, message):
    spikes, trials, kwargs = case
    with pytest.raises(error, match=re.escape(message)):
        from_arrays(spikes, trials, **kwargs)


def test_spike_on_trial_stop_is_outside():
    # Trials are [start_time, stop_time): a spike exactly at stop_time is outside.
    with pytest.raises(ValueError, match="spikes outside every trial"):
        from_arrays([[1.0, 3.0, 5.0]], _trials(), subject="R1")
    assert from_arrays([[0.0]], _trials(), subject="R1").n_units == 1


# --------------------------------------------------------------------------- from_xarray


def _binned(**attrs):
    values = np.array([[[0, 2, 1], [1, 1, 0]], [[1, 0, 0], [0, 0, 3]]])
    return xr.DataArray(
        values,
        dims=("trial", "unit", "time"),
        coords={
            "trial": [10, 11],
            "unit": ["u0", "u1"],
            "time": [0.0, 0.01, 0.02],
            "odor": ("trial", ["A", "B"]),
        },
        attrs={"subject": "R1", "bin_size": 0.01, **attrs},
    )


def test_from_xarray_normalises():
    raw = _binned().transpose("time", "trial", "unit").astype(float)
    out = from_xarray(raw)
    assert out.dims == ("trial", "unit", "time")
    assert out.dtype == np.uint8
    assert out.attrs["subject"] == "R1" and out.attrs["bin_size"] == 0.01
    assert out.attrs["time_resolution"] is None
    assert out["odor"].values.tolist() == ["A", "B"]
    np.testing.assert_array_equal(out.values, _binned().values)
    assert not np.shares_memory(out.values, raw.values)


def test_from_xarray_defaults_and_inference():
    raw = xr.DataArray(np.ones((2, 3, 4)), dims=("trial", "unit", "time"))
    raw = raw.assign_coords(time=np.arange(4) * 0.05 - 0.1)
    out = from_xarray(raw, subject="R9")
    assert out.attrs["bin_size"] == 0.05
    assert out["trial"].values.tolist() == [0, 1]
    assert out["unit"].values.tolist() == [0, 1, 2]
    assert out["time"].values.tolist() == [-0.1, -0.05, 0.0, 0.05]


def test_from_xarray_is_the_form_bin_trials_returns():
    trials = _trials()
    rec = from_arrays(_spikes(), trials, subject="R1", time_resolution=1e-3)
    binned = bin_trials(rec, start=0.0, stop=1.0, bin_size=0.1)
    again = from_xarray(binned)
    xr.testing.assert_identical(again, binned)


def _with_values(values):
    return _binned().copy(data=values)


FROM_XARRAY_ERRORS = [
    pytest.param(
        _binned().rename(unit="neuron"),
        {},
        ValueError,
        "subject 'R1': dims: expected ('trial', 'unit', 'time')",
        id="dims",
    ),
    pytest.param(
        _binned().isel(unit=0),
        {},
        ValueError,
        "subject 'R1': dims: expected",
        id="missing-dim",
    ),
    pytest.param(
        _binned().drop_vars("time"),
        {},
        ValueError,
        "subject 'R1': time: missing coordinate 'time'",
        id="no-time",
    ),
    pytest.param(
        _binned().assign_coords(time=[0.0, 0.01, 0.03]),
        {},
        ValueError,
        "subject 'R1': time: coordinate is not a regular grid of bins of 0.01 s",
        id="irregular",
    ),
    pytest.param(
        _with_values(-_binned().values),
        {},
        ValueError,
        "subject 'R1': counts: has negative values",
        id="negative",
    ),
    pytest.param(
        _with_values(np.where(_binned().values == 3, np.nan, 1.0)),
        {},
        ValueError,
        "subject 'R1': counts: has NaN or inf values",
        id="nan",
    ),
    pytest.param(
        _with_values(_binned().values / 2),
        {},
        ValueError,
        "subject 'R1': counts: values are not whole numbers",
        id="fractions",
    ),
    pytest.param(
        _binned().assign_attrs(subject=None),
        {},
        ValueError,
        "subject: not given and counts.attrs has no 'subject'",
        id="no-subject",
    ),
    pytest.param(
        _binned(),
        {"subject": "R2"},
        ValueError,
        "subject 'R2': subject: differs from attrs['subject'] ('R1')",
        id="subject-mismatch",
    ),
    pytest.param(
        _binned().assign_coords(trial=[3, 3]),
        {},
        ValueError,
        "subject 'R1': trial: duplicated ids [3]",
        id="duplicated-trials",
    ),
    pytest.param(
        _binned().values,
        {"subject": "R1"},
        TypeError,
        "subject 'R1': expected an xarray.DataArray",
        id="not-dataarray",
    ),
    pytest.param(
        _binned().isel(time=[0]).assign_attrs(bin_size=None).drop_attrs(),
        {"subject": "R1"},
        ValueError,
        "subject 'R1': bin_size: one bin and no attrs['bin_size']",
        id="one-bin-no-size",
    ),
]


@pytest.mark.parametrize(("counts", "kwargs", "error", "message"), FROM_XARRAY_ERRORS)
def test_from_xarray_errors(counts, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        from_xarray(counts, **kwargs)
