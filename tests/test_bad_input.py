"""Every bad input of a public entry point gets a clear error before any work.

One table per entry point, in pynapple's style: rows that must fail
(``pytest.raises(..., match=...)``, the message naming the subject and the field) beside
rows that must pass (``does_not_raise()``). Rows already pinned elsewhere are not
repeated here: see tests/data/test_data_ingest.py, tests/data/test_data_binning.py,
tests/io/test_nwb_read_write.py, tests/estimators/test_neural_bad_input.py,
tests/estimators/test_vae_bad_input.py, tests/io/test_persistence.py and
tests/io/test_nwb_export.py.
"""

import dataclasses
import json
import zipfile
from contextlib import nullcontext as does_not_raise
from datetime import UTC, datetime

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from sklearn.linear_model import LogisticRegression

import neuromix as nm
import neuromix._validation as validation
import neuromix.estimators.vae as estimator_module
from neuromix.data import bin_spikes, bin_trials, from_arrays, from_xarray
from neuromix.io.nwb import read_nwb, write_recording


def _raises(error, match):
    return pytest.raises(error, match=match)


# --------------------------------------------------------------------------- from_arrays


def _trials(start=(0.0, 2.0, 4.0), stop=(1.0, 3.0, 5.0), **labels):
    table = pd.DataFrame({"start_time": list(start), "stop_time": list(stop)})
    table["odor"] = ["A", "B", "A", "B"][: len(table)]
    for name, values in labels.items():
        table[name] = values
    return table


def _spikes():
    return [np.array([0.1, 0.5, 2.2]), np.array([4.5]), np.array([0.3, 2.9, 4.1, 4.2])]


FROM_ARRAYS = [
    # valid: lists, tuples, integer and object arrays, empty units, touching trials
    pytest.param([[0.1, 0.5], [2.5]], _trials(), {}, does_not_raise(), id="lists"),
    pytest.param((np.array([0, 2, 4]),), _trials(), {}, does_not_raise(), id="int-seconds"),
    pytest.param(
        [np.array([0.1, 2.5], dtype=object), np.array([])],
        _trials(),
        {},
        does_not_raise(),
        id="object-array-of-floats-and-empty-unit",
    ),
    pytest.param(
        _spikes(), _trials(stop=(2.0, 3.0, 5.0)), {}, does_not_raise(), id="touching-trials"
    ),
    pytest.param(
        _spikes(),
        _trials(start=(4.0, 0.0, 2.0), stop=(5.0, 1.0, 3.0)),
        {},
        does_not_raise(),
        id="trials-not-in-time-order",
    ),
    pytest.param(
        _spikes(), _trials(), {"time_resolution": 1 / 30000}, does_not_raise(), id="30-kHz"
    ),
    # spike times: not finite (moved from test_data_ingest.py)
    pytest.param(
        [[0.1], [0.2, np.nan]],
        _trials(),
        {},
        _raises(
            ValueError,
            r"subject 'R1': spike_times: unit 1 has 1 non-finite spike times \(NaN or inf\), "
            r"the first at position 1",
        ),
        id="nan-spike",
    ),
    pytest.param(
        [[0.1, np.inf]],
        _trials(),
        {},
        _raises(ValueError, r"subject 'R1': spike_times: unit 0 has 1 non-finite"),
        id="inf-spike",
    ),
    # spike times: not numbers
    pytest.param(
        [["0.1", "0.5"]],
        _trials(),
        {},
        _raises(
            TypeError,
            r"subject 'R1': spike_times: unit 0 has dtype <U3; spike times must be numbers "
            r"of seconds",
        ),
        id="strings",
    ),
    pytest.param(
        [[0.1, 0.2], [0.3, "x"]],
        _trials(),
        {},
        _raises(TypeError, r"subject 'R1': spike_times: unit 1 has dtype <U32"),
        id="numbers-mixed-with-strings",
    ),
    pytest.param(
        [np.array([0.1, None], dtype=object)],
        _trials(),
        {},
        _raises(
            TypeError,
            r"subject 'R1': spike_times: unit 0 holds None \(NoneType\) at position 1; spike "
            r"times must be numbers",
        ),
        id="object-array-with-none",
    ),
    pytest.param(
        [np.array([True, False])],
        _trials(),
        {},
        _raises(TypeError, r"subject 'R1': spike_times: unit 0 has dtype bool"),
        id="booleans",
    ),
    pytest.param(
        [np.array([100, 2000], dtype="timedelta64[ms]")],
        _trials(),
        {},
        _raises(TypeError, r"unit 0 has dtype timedelta64\[ms\].*convert durations to seconds"),
        id="durations",
    ),
    pytest.param(
        [np.array([0.1 + 0j])],
        _trials(),
        {},
        _raises(TypeError, r"subject 'R1': spike_times: unit 0 has dtype complex128"),
        id="complex",
    ),
    pytest.param(
        [[0.1, [0.2, 0.3]]],
        _trials(),
        {},
        _raises(TypeError, r"subject 'R1': spike_times: unit 0 is not an array of numbers"),
        id="ragged-unit",
    ),
    pytest.param(
        {"u1": [0.1]},
        _trials(),
        {},
        _raises(
            TypeError,
            r"subject 'R1': spike_times: expected a sequence with one array of spike times "
            r"per unit, got dict",
        ),
        id="mapping-of-units",
    ),
    # spike times: too large for the clock (int64 ticks would wrap around)
    pytest.param(
        [[0.1, 1e300]],
        _trials(),
        {},
        _raises(
            ValueError,
            r"subject 'R1': spike_times: unit 0: 1e\+300 s is too large to count in clock "
            r"ticks of 1e-09 s \(at most 2.31e\+09 s\); are the times in seconds\?",
        ),
        id="huge-spike",
    ),
    pytest.param(
        [[0.1, 1e16]],
        _trials(),
        {"time_resolution": 1 / 30000},
        _raises(ValueError, r"subject 'R1': spike_times: unit 0: 1e\+16 s is too large"),
        id="huge-spike-30-kHz",
    ),
    # trials
    pytest.param(
        _spikes(),
        _trials(stop=(1.0, 2.5, 3.0)),
        {},
        _raises(ValueError, r"subject 'R1': trials: stop_time < start_time in trials \[2\]"),
        id="stop-before-start",
    ),
    pytest.param(
        _spikes(),
        _trials(stop=(1.0, 2.0, 5.0)),
        {},
        _raises(
            ValueError,
            r"subject 'R1': trials: zero-length trials \[1\] \(stop_time == start_time\)",
        ),
        id="zero-length",
    ),
    pytest.param(
        _spikes(),
        _trials(stop=(0.2, 2.2, 5.0)),
        {"time_resolution": 0.5},
        _raises(
            ValueError,
            r"subject 'R1': trials: zero-length trials \[0, 1\] \(shorter than one clock tick "
            r"of 0.5 s\)",
        ),
        id="shorter-than-a-tick",
    ),
    pytest.param(
        _spikes(),
        _trials(stop=(2.5, 3.0, 5.0)),
        {},
        _raises(
            ValueError,
            r"subject 'R1': trials: trials 0 \[0.0, 2.5\) and 1 \[2.0, 3.0\) overlap; trials "
            r"must not overlap, or a spike would count in both",
        ),
        id="overlapping",
    ),
    pytest.param(
        _spikes(),
        _trials(start=(0.0, 2.0, 4.0, 0.5), stop=(4.5, 3.0, 5.0, 1.0)),
        {},
        _raises(ValueError, r"subject 'R1': trials: trials 0 \[0.0, 4.5\) and 3 \[0.5, 1.0\)"),
        id="nested",
    ),
    pytest.param(
        _spikes(),
        _trials(start=(0.0, 2.0, 4.0, 0.0), stop=(1.0, 3.0, 5.0, 1.0)),
        {},
        _raises(
            ValueError,
            r"subject 'R1': trials: trials 0 and 3 are duplicates \(both \[0.0, 1.0\)\)",
        ),
        id="duplicated",
    ),
    pytest.param(
        _spikes(),
        _trials(start=(0.0, np.nan, 4.0)),
        {},
        _raises(ValueError, r"subject 'R1': trials: start_time is NaN or inf in trials \[1\]"),
        id="nan-trial-time",
    ),
    pytest.param(
        _spikes(),
        _trials(stop=(1.0, 3.0, np.inf)),
        {},
        _raises(ValueError, r"subject 'R1': trials: stop_time is NaN or inf in trials \[2\]"),
        id="inf-trial-time",
    ),
    pytest.param(
        _spikes(),
        _trials(start=("0", "2", "4")),
        {},
        _raises(TypeError, r"subject 'R1': trials: start_time must be numbers of seconds"),
        id="trial-times-as-text",
    ),
    pytest.param(
        _spikes(),
        _trials(start=(0.0, "2", 4.0)),
        {},
        _raises(TypeError, r"subject 'R1': trials: start_time must be numbers of seconds; it"),
        id="trial-times-mixed",
    ),
    pytest.param(
        _spikes(),
        _trials(start=(-1.0, 2.0, 4.0)),
        {},
        _raises(ValueError, r"subject 'R1': trials: start_time is negative in trials \[0\]"),
        id="negative-trial",
    ),
    pytest.param(
        _spikes(),
        _trials(start=(0.0, 2.0, 1e12), stop=(1.0, 3.0, 2e12)),
        {},
        _raises(ValueError, r"subject 'R1': trials: start_time: 1000000000000.0 s is too large"),
        id="huge-trial-time",
    ),
]


@pytest.mark.parametrize(("spikes", "trials", "kwargs", "expectation"), FROM_ARRAYS)
def test_from_arrays(spikes, trials, kwargs, expectation):
    with expectation:
        rec = from_arrays(spikes, trials, subject="R1", **kwargs)
    if isinstance(expectation, does_not_raise):
        assert rec.n_units == len(spikes)


# --------------------------------------------------------------------------- read_nwb


def _recording(subject="R1", start=(1.0, 4.0), stop=(3.0, 6.0)):
    trials = pd.DataFrame({"start_time": start, "stop_time": stop, "odor": ["A", "B"]})
    return from_arrays([np.array([1.5, 4.5])], trials, subject=subject)


def _written(name, **kwargs):
    def make(folder):
        return write_recording(_recording(**kwargs), folder / f"{name}.nwb")

    return make


def _raw_nwb(name, *, trials=(), units=True, subject="R1"):
    """An NWB file written with pynwb directly: without units or trials, or with trial
    times from_arrays would refuse."""

    def make(folder):
        from pynwb import NWBHDF5IO, NWBFile
        from pynwb.file import Subject

        nwbfile = NWBFile(
            session_description="test",
            identifier=name,
            session_start_time=datetime(2021, 1, 1, tzinfo=UTC),
        )
        nwbfile.subject = Subject(subject_id=subject, species="Rattus norvegicus")
        for start, stop in trials:
            nwbfile.add_trial(start_time=start, stop_time=stop)
        if units:
            nwbfile.add_unit(spike_times=[0.5, 2.5])
        path = folder / f"{name}.nwb"
        with NWBHDF5IO(path, "w") as io:
            io.write(nwbfile)
        return path

    return make


def _bytes(name, content):
    def make(folder):
        path = folder / name
        path.write_bytes(content)
        return path

    return make


def _truncated(folder):
    whole = _written("whole")(folder).read_bytes()
    path = folder / "truncated.nwb"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _plain_hdf5(folder):
    path = folder / "plain.h5"
    with h5py.File(path, "w") as file:
        file["x"] = [1, 2, 3]
    return path


READ_NWB = [
    pytest.param(_written("ok"), does_not_raise(), id="written-by-neuromix"),
    pytest.param(lambda f: str(_written("ok")(f)), does_not_raise(), id="str-path"),
    pytest.param(
        lambda f: [_written("a", subject="A")(f), _written("b", subject="B")(f)],
        does_not_raise(),
        id="two-subjects",
    ),
    pytest.param(
        _raw_nwb("raw", trials=[(0.0, 1.0), (2.0, 3.0)]), does_not_raise(), id="written-by-pynwb"
    ),
    pytest.param(
        _bytes("text.nwb", b"not an HDF5 file at all"),
        _raises(
            ValueError,
            r"text\.nwb: not an NWB file: NWB files are HDF5 and this one is not \(23 bytes",
        ),
        id="not-hdf5",
    ),
    pytest.param(
        _bytes("empty.nwb", b""),
        _raises(ValueError, r"empty\.nwb: not an NWB file: .*\(0 bytes"),
        id="empty-file",
    ),
    pytest.param(
        _truncated,
        _raises(ValueError, r"truncated\.nwb: cannot be read as an NWB file \(truncated"),
        id="truncated",
    ),
    pytest.param(
        _plain_hdf5,
        _raises(ValueError, r"plain\.h5: cannot be read as an NWB file .*Missing NWB version"),
        id="hdf5-but-not-nwb",
    ),
    pytest.param(
        _raw_nwb("nounits", trials=[(0.0, 1.0)], units=False),
        _raises(
            ValueError,
            r"nounits\.nwb: subject 'R1': spike_times: the file has no units table",
        ),
        id="without-units",
    ),
    pytest.param(
        _raw_nwb("notrials"),
        _raises(ValueError, r"notrials\.nwb: subject 'R1': trials: the file has no trials table"),
        id="without-trials",
    ),
    pytest.param(
        _raw_nwb("overlap", trials=[(0.0, 2.0), (1.0, 3.0)]),
        _raises(ValueError, r"overlap\.nwb: subject 'R1': trials: trials 0 .* overlap"),
        id="overlapping-trials",
    ),
    pytest.param(
        _raw_nwb("reversed", trials=[(0.0, 1.0), (3.0, 2.0)]),
        _raises(ValueError, r"reversed\.nwb: subject 'R1': trials: stop_time < start_time"),
        id="stop-before-start",
    ),
    pytest.param(
        lambda f: [_written("r1a")(f), _written("r1b")(f)],
        _raises(ValueError, r"subject 'R1': found in two files, .*r1a\.nwb and .*r1b\.nwb"),
        id="same-subject-in-two-files",
    ),
    pytest.param(
        lambda f: f,
        _raises(FileNotFoundError, r": not a file \(a folder\?\); give an \.nwb file"),
        id="folder",
    ),
    pytest.param(
        lambda f: [_written("first")(f), f / "absent.nwb"],
        _raises(FileNotFoundError, r"absent\.nwb: no such file"),
        id="second-file-missing",
    ),
    pytest.param(lambda f: [], _raises(ValueError, r"paths: no files given"), id="no-files"),
    pytest.param(
        lambda f: 3,
        _raises(TypeError, r"paths: expected a path or a sequence of paths .*got int"),
        id="not-a-path",
    ),
]


@pytest.mark.parametrize(("make", "expectation"), READ_NWB)
def test_read_nwb(tmp_path, make, expectation):
    paths = make(tmp_path)
    with expectation:
        recordings = read_nwb(paths)
    if isinstance(expectation, does_not_raise):
        assert all(r.n_units == 1 for r in recordings.values())


# --------------------------------------------------------------------------- from_xarray


def _binned(values=None, **attrs):
    values = np.array([[[0, 2, 1]], [[1, 0, 0]]]) if values is None else values
    return xr.DataArray(
        values,
        dims=("trial", "unit", "time"),
        coords={"time": [0.0, 0.01, 0.02], "odor": ("trial", ["A", "B"])},
        attrs={"subject": "R1", "bin_size": 0.01, **attrs},
    )


FROM_XARRAY = [
    pytest.param(_binned(), {}, does_not_raise(), id="int-counts"),
    pytest.param(_binned().astype(float), {}, does_not_raise(), id="whole-float-counts"),
    pytest.param(_binned().astype(bool), {}, does_not_raise(), id="boolean-counts"),
    pytest.param(
        _binned(np.full((2, 1, 3), 70_000)), {}, does_not_raise(), id="large-counts-uint32"
    ),
    pytest.param(
        _binned().transpose("time", "unit", "trial"), {}, does_not_raise(), id="any-dim-order"
    ),
    pytest.param(
        _binned(np.full((2, 1, 3), "1")),
        {},
        _raises(TypeError, r"subject 'R1': counts: expected numbers, got dtype <U1"),
        id="text-counts",
    ),
    pytest.param(
        _binned(np.full((2, 1, 3), 1, dtype=object)),
        {},
        _raises(TypeError, r"subject 'R1': counts: expected numbers, got dtype object"),
        id="object-counts",
    ),
    pytest.param(
        _binned(np.full((2, 1, 3), 1 + 0j)),
        {},
        _raises(TypeError, r"subject 'R1': counts: expected numbers, got dtype complex128"),
        id="complex-counts",
    ),
    pytest.param(
        _binned(np.where(np.eye(3, dtype=bool)[:2, None], np.inf, 1.0)),
        {},
        _raises(ValueError, r"subject 'R1': counts: has NaN or inf values"),
        id="infinite-counts",
    ),
    pytest.param(
        _binned().assign_coords(time=["0", "0.01", "0.02"]),
        {},
        _raises(TypeError, r"subject 'R1': time: coordinate must be numeric seconds"),
        id="time-as-text",
    ),
    pytest.param(
        _binned().assign_coords(time=[0.0, np.nan, 0.02]),
        {},
        _raises(ValueError, r"subject 'R1': time: coordinate has NaN or inf"),
        id="nan-time",
    ),
    pytest.param(
        _binned(bin_size="0.01"),
        {},
        _raises(TypeError, r"subject 'R1': bin_size: expected a number of seconds, got '0.01'"),
        id="bin-size-as-text",
    ),
    pytest.param(
        _binned(bin_size=-0.01),
        {},
        _raises(ValueError, r"subject 'R1': bin_size: must be a positive number of seconds"),
        id="negative-bin-size",
    ),
    pytest.param(
        _binned().drop_attrs().assign_coords(time=[0.02, 0.01, 0.0]),
        {"subject": "R1"},
        _raises(ValueError, r"subject 'R1': time: coordinate is not increasing"),
        id="decreasing-time",
    ),
    pytest.param(
        _binned().expand_dims(unit2=1).isel(unit=0).rename(unit2="unit").assign_coords(unit=["u"]),
        {},
        does_not_raise(),
        id="renamed-dims",
    ),
    pytest.param(
        xr.concat([_binned().isel(unit=0)] * 2, dim="unit").assign_coords(unit=["u", "u"]),
        {},
        _raises(ValueError, r"subject 'R1': unit: duplicated ids \['u'\]"),
        id="duplicated-units",
    ),
    pytest.param(
        _binned().to_dataset(name="counts"),
        {"subject": "R1"},
        _raises(TypeError, r"subject 'R1': expected an xarray\.DataArray .*got Dataset"),
        id="dataset",
    ),
    pytest.param(
        _binned(),
        {"subject": 3},
        _raises(TypeError, r"subject: expected a non-empty string"),
        id="subject-not-a-string",
    ),
]


@pytest.mark.parametrize(("counts", "kwargs", "expectation"), FROM_XARRAY)
def test_from_xarray(counts, kwargs, expectation):
    with expectation:
        out = from_xarray(counts, **kwargs)
    if isinstance(expectation, does_not_raise):
        assert out.dims == ("trial", "unit", "time") and out.dtype.kind == "u"


# --------------------------------------------------------------------------- bin_trials


def _unchecked(**changes):
    """A Recording built directly (as a simulator or a lazy reader may), not through
    from_arrays: binning checks what it reads."""
    fields = {
        "subject": "R1",
        "spike_times": [np.array([1.05, 3.05])],
        "unit_ids": np.arange(1),
        "trials": pd.DataFrame({"start_time": [1.0, 3.0], "stop_time": [2.0, 4.0]}),
    }
    fields.update(changes)
    return nm.Recording(**fields)


BIN_TRIALS = [
    pytest.param(_unchecked(), {}, does_not_raise(), id="valid"),
    pytest.param(
        _unchecked(), {"start": -0.5, "stop": 0.5}, does_not_raise(), id="pre-onset-baseline"
    ),
    pytest.param(
        _unchecked(),
        {"start": np.nan},
        _raises(ValueError, r"subject 'R1': start: must be a finite number, got nan"),
        id="nan-start",
    ),
    pytest.param(
        _unchecked(),
        {"stop": "0.5"},
        _raises(TypeError, r"subject 'R1': stop: expected a number of seconds, got '0.5'"),
        id="stop-as-text",
    ),
    pytest.param(
        _unchecked(),
        {"stop": 1e300},
        _raises(ValueError, r"subject 'R1': stop: 1e\+300 s is too large to count in clock"),
        id="huge-stop",
    ),
    pytest.param(
        _unchecked(),
        {"bin_size": True},
        _raises(TypeError, r"subject 'R1': bin_size: expected a number of seconds, got True"),
        id="bin-size-bool",
    ),
    pytest.param(
        _unchecked(spike_times=[np.array(["1.05"])]),
        {},
        _raises(TypeError, r"subject 'R1': spike_times: unit 0 has dtype <U4"),
        id="unchecked-text-spikes",
    ),
    pytest.param(
        _unchecked(spike_times=[np.array([1.05, 1e20])]),
        {},
        _raises(ValueError, r"subject 'R1': spike_times: unit 0: 1e\+20 s is too large"),
        id="unchecked-huge-spike",
    ),
    pytest.param(
        _unchecked(trials=pd.DataFrame({"start_time": ["1"], "stop_time": [2.0]})),
        {},
        _raises(TypeError, r"subject 'R1': trials: start_time must be numbers of seconds"),
        id="unchecked-text-trials",
    ),
]


@pytest.mark.parametrize(("rec", "kwargs", "expectation"), BIN_TRIALS)
def test_bin_trials(rec, kwargs, expectation):
    with expectation:
        counts = bin_trials(rec, **{"start": 0.0, "stop": 0.5, "bin_size": 0.1, **kwargs})
    if isinstance(expectation, does_not_raise):
        assert int(counts.sum()) == 2


# ------------------------------------------------------------------ memory, before allocating


@pytest.fixture
def tiny_memory(monkeypatch):
    """Pretend that only ``limit[0]`` bytes are free (never allocate to test this)."""
    limit = [1000]
    monkeypatch.setattr(validation, "available_memory", lambda: limit[0])
    return limit


def test_binning_that_would_not_fit_in_memory_is_refused_first(tiny_memory):
    rec = _unchecked()
    # 2 trials x 1 unit x 1000 bins of uint8, plus 3 int64 temporaries per edge
    with _raises(
        MemoryError,
        r"subject 'R1': counts: 2 trials x 1 unit x 1000 bins in uint8 would need 50 kB, "
        r"more than the 1 kB of memory available; bin a shorter range, use a larger "
        r"bin_size",
    ):
        bin_trials(rec, start=0.0, stop=1.0, bin_size=0.001)
    with _raises(MemoryError, r"^counts: 3 units x 100000 bins in uint8 would need 300 kB"):
        bin_spikes([[0.5]] * 3, t_start=0.0, t_stop=100.0, bin_size=0.001)
    tiny_memory[0] = 10**9
    assert bin_trials(rec, start=0.0, stop=1.0, bin_size=0.001).shape == (2, 1, 1000)


def test_a_unit_whose_counts_need_a_wider_type_is_refused_before_widening(tiny_memory):
    # 100 units x 10 bins fit in uint8 (1 kB, plus 264 bytes of int64 temporaries); the
    # last unit's 300 spikes in one bin need uint16, twice the memory of the counts
    units = [np.array([1.05])] * 99 + [np.full(300, 1.05)]
    busy = _unchecked(
        spike_times=units,
        unit_ids=np.arange(100),
        trials=pd.DataFrame({"start_time": [1.0], "stop_time": [2.0]}),
    )
    tiny_memory[0] = 1500
    with _raises(
        MemoryError,
        r"subject 'R1': counts: unit 99 has a count of 300, so the counts \(1 trial x 100 "
        r"units x 10 bins\) need uint16 instead of uint8, which would need 2 kB, more than "
        r"the 1.5 kB of memory available",
    ):
        bin_trials(busy, start=0.0, stop=1.0, bin_size=0.1)
    tiny_memory[0] = 2000
    assert bin_trials(busy, start=0.0, stop=1.0, bin_size=0.1).dtype == np.uint16


def test_fit_refuses_counts_that_would_not_fit_before_training(rec, tiny_memory, trainings):
    with _raises(MemoryError, r"subject 'Barat': counts: \d+ trials x 6 units x 25 bins"):
        nm.fit(rec, subject_dim="rat", epochs=1, progress=False)
    assert trainings == []


# --------------------------------------------------------------------------- fit


@pytest.fixture(scope="module")
def rec():
    return nm.datasets.simulate_odor_sequence(
        seed=1, n_trials=30, n_units=6, subjects=["Barat", "Mitt"]
    )


@pytest.fixture
def trainings(monkeypatch):
    """Records every call of the training loop: a refused input must never reach it."""
    calls = []
    # one model (a fixed beta), or the candidates of beta="auto" as one ensemble
    for name in ("train", "train_ensemble"):
        original = getattr(estimator_module, name)

        def spy(*args, _original=original, **kwargs):
            calls.append(1)
            return _original(*args, **kwargs)

        monkeypatch.setattr(estimator_module, name, spy)
    return calls


def _replace(subject, **changes):
    def make(rec):
        out = dict(rec)
        out[subject] = dataclasses.replace(rec[subject], **changes)
        return out

    return make


def _only_odors(**odors):
    def make(rec):
        out = dict(rec)
        for s, keep in odors.items():
            r = rec[s]
            out[s] = dataclasses.replace(r, trials=r.trials[r.trials.odor.isin(keep)])
        return out

    return make


def _overlapping(rec):
    trials = rec["Mitt"].trials.copy()
    trials.iloc[1, trials.columns.get_loc("start_time")] = trials["start_time"].iloc[0] + 1.0
    return _replace("Mitt", trials=trials)(rec)


def _nan_spike(rec):
    units = list(rec["Mitt"].spike_times)
    units[2] = np.append(units[2], np.nan)
    return _replace("Mitt", spike_times=units)(rec)


def _same(rec):
    return rec


FIT = [
    pytest.param(_same, {}, does_not_raise(), id="valid"),
    pytest.param(
        _same,
        {"batch_size": 100_000},
        pytest.warns(
            UserWarning,
            match=r"batch_size=100000 is larger than the \d+ training samples: each epoch is "
            r"one batch of \d+ samples \(one optimiser step per epoch\)",
        ),
        id="batch-larger-than-data-warns",
    ),
    pytest.param(
        _same,
        {"latent_dim": 0},
        _raises(ValueError, r"latent_dim must be an integer >= 1, got 0"),
        id="latent-dim-0",
    ),
    pytest.param(
        _same,
        {"latent_dim": -2},
        _raises(ValueError, r"latent_dim must be an integer >= 1, got -2"),
        id="latent-dim-negative",
    ),
    pytest.param(
        _same,
        {"beta": -0.5},
        _raises(
            ValueError,
            r"beta must be a number >= 0, .auto. or a list of distinct numbers >= 0, got -0.5",
        ),
        id="beta-negative",
    ),
    pytest.param(
        _same,
        {"epochs": 0},
        _raises(ValueError, r"epochs must be an integer >= 1, got 0"),
        id="epochs-0",
    ),
    pytest.param(
        _same,
        {"precision": "half"},
        _raises(ValueError, r"precision must be one of 'fp32', 'bf16', 'auto', got 'half'"),
        id="precision",
    ),
    pytest.param(
        _same,
        {"batch_size": 0},
        _raises(ValueError, r"batch_size must be an integer >= 1, got 0"),
        id="batch-size-0",
    ),
    pytest.param(_same, {"lr": -1e-3}, _raises(ValueError, r"lr must be a number > 0.0"), id="lr"),
    pytest.param(
        _same,
        {"likelihood": "student"},
        _raises(ValueError, r"unknown likelihood 'student'"),
        id="likelihood",
    ),
    pytest.param(
        _same,
        {"window": 3.0},
        _raises(
            ValueError,
            r"subject 'Barat': stop: windows run to 3\.4\d* s after onset \(stop defaults to "
            r"start \+ window \+ 15 steps\), past the end of trials \[1, 2, 3, 4, 5\] \(the "
            r"shortest lasts 1\.99\d* s\); lower start, stop or window",
        ),
        id="window-longer-than-trials",
    ),
    pytest.param(
        _same,
        {"stop": 2.5},
        _raises(ValueError, r"subject 'Barat': stop: windows run to 2\.5 s after onset, past"),
        id="stop-past-trials",
    ),
    pytest.param(
        _same,
        {"window": 0.105},
        _raises(ValueError, r"window: 0\.105 s is not a multiple of the bin size \(0\.01 s\)"),
        id="window-not-whole-bins",
    ),
    pytest.param(
        _same,
        {"bin_size": 0.03},
        _raises(ValueError, r"window: 0\.1 s is not a multiple of the bin size \(0\.03 s\)"),
        id="bin-size-does-not-divide-window",
    ),
    pytest.param(
        _same,
        {"step": 0.015},
        _raises(ValueError, r"step: 0\.015 s is not a multiple of the bin size"),
        id="step-not-whole-bins",
    ),
    pytest.param(
        _same,
        {"start": 0.5, "stop": 0.25},
        _raises(ValueError, r"subject 'Barat': stop - start: must be positive, got -0\.25 s"),
        id="stop-before-start",
    ),
    pytest.param(
        _same,
        {"start": float("nan")},
        _raises(ValueError, r"subject 'Barat': start: must be a finite number, got nan"),
        id="nan-start",
    ),
    pytest.param(
        _same,
        {"stop": {"Barat": 0.5}},
        _raises(ValueError, r"stop: no value for subject 'Mitt'"),
        id="stop-mapping-lacks-a-subject",
    ),
    pytest.param(
        _same,
        {"start": {"Barat": 0.25, "Mitt": 0.5, "Rex": 0.1}},
        _raises(ValueError, r"start: subject 'Rex' is not in the recordings \('Barat', 'Mitt'\)"),
        id="start-mapping-unknown-subject",
    ),
    pytest.param(
        _same,
        {"start": {"Barat": 0.25, "Mitt": "0.5"}},
        _raises(TypeError, r"subject 'Mitt': start: expected a number of seconds, got '0.5'"),
        id="start-as-text",
    ),
    pytest.param(
        _only_odors(Barat=["A", "B"], Mitt=["C", "D"]),
        {},
        _raises(
            ValueError,
            r"label 'odor': the subjects have no condition in common \('Barat': 'A', 'B'; "
            r"'Mitt': 'C', 'D'\); there is nothing to pair",
        ),
        id="no-condition-in-common",
    ),
    pytest.param(
        _only_odors(Barat=["A", "B"], Mitt=["C", "D"]),
        {"missing": "drop"},
        _raises(ValueError, r"label 'odor': the subjects have no condition in common"),
        id="no-condition-in-common-drop",
    ),
    pytest.param(
        _overlapping,
        {},
        _raises(ValueError, r"subject 'Mitt': trials: trials 1 \[.*\) and 2 \[.*\) overlap"),
        id="unchecked-recording-overlapping-trials",
    ),
    pytest.param(
        _nan_spike,
        {},
        _raises(ValueError, r"subject 'Mitt': spike_times: unit 2 has 1 non-finite spike"),
        id="unchecked-recording-nan-spike",
    ),
]


@pytest.mark.parametrize(("make", "params", "expectation"), FIT)
def test_fit(rec, trainings, make, params, expectation):
    with expectation as outcome:
        nm.fit(make(rec), subject_dim="rat", **{"epochs": 1, "progress": False, **params})
    # validation happens before any work: a refused input never reaches training
    assert bool(trainings) is not isinstance(outcome, pytest.ExceptionInfo)


# ------------------------------------------------------------------ transform, latents, decode


@pytest.fixture(scope="module")
def model(rec):
    where = {"correct": True, "odor": ["A", "B", "C"]}
    return nm.fit(rec, subject_dim="rat", where=where, epochs=1, progress=False)


TRANSFORM = [
    pytest.param(lambda rec: {"Barat": rec["Barat"]}, {}, does_not_raise(), id="one-subject"),
    pytest.param(lambda rec: rec, {}, does_not_raise(), id="every-subject"),
    pytest.param(
        lambda rec: {"Mitt": rec["Mitt"]},
        {"sample": True, "n_draws": 2, "seed": 3},
        does_not_raise(),
        id="draws",
    ),
    pytest.param(
        lambda rec: {"Rex": rec["Barat"]},
        {},
        _raises(ValueError, r"subject 'Rex' was not present at fit; fitted subjects: 'Barat', "),
        id="subject-never-seen",
    ),
    pytest.param(
        lambda rec: {"Barat": rec["Barat"], "Rex": rec["Mitt"]},
        {},
        _raises(ValueError, r"subject 'Rex' was not present at fit"),
        id="one-subject-never-seen",
    ),
    pytest.param(
        lambda rec: {"Barat": rec["Barat"]},
        {"sample": True, "n_draws": 0},
        _raises(ValueError, r"n_draws: expected an integer >= 1, got 0"),
        id="no-draws",
    ),
    pytest.param(
        lambda rec: {"Barat": rec["Barat"]},
        {"sample": "yes"},
        _raises(TypeError, r"sample: expected True or False, got 'yes'"),
        id="sample-not-bool",
    ),
    pytest.param(
        lambda rec: {"Barat": rec["Barat"]},
        {"sample": True, "seed": -1},
        _raises(ValueError, r"seed: expected None or an integer >= 0, got -1"),
        id="negative-seed",
    ),
    pytest.param(
        _nan_spike,
        {},
        _raises(ValueError, r"subject 'Mitt': spike_times: unit 2 has 1 non-finite spike"),
        id="nan-spike",
    ),
    pytest.param(
        lambda rec: {
            "Barat": dataclasses.replace(
                rec["Barat"],
                trials=rec["Barat"].trials.assign(stop_time=rec["Barat"].trials.start_time + 0.3),
            )
        },
        {},
        _raises(ValueError, r"subject 'Barat': \[start, stop\) = \[0\.25, 0\.5\) s runs past"),
        id="trials-shorter-than-at-fit",
    ),
    pytest.param(
        lambda rec: [rec["Barat"]],
        {},
        _raises(TypeError, r"recordings must be a non-empty mapping"),
        id="list",
    ),
]


@pytest.mark.parametrize(("make", "kwargs", "expectation"), TRANSFORM)
def test_transform(model, rec, make, kwargs, expectation):
    with expectation:
        latents = model.transform(make(rec), **kwargs)
    if isinstance(expectation, does_not_raise):
        assert latents.sizes["latent"] == model.latent_dim


LATENTS = [
    pytest.param({}, does_not_raise(), id="means"),
    pytest.param({"sample": True, "n_draws": 3, "seed": 0}, does_not_raise(), id="draws"),
    pytest.param({"sample": np.True_}, does_not_raise(), id="numpy-bool"),
    pytest.param(
        {"sample": True, "n_draws": 0},
        _raises(ValueError, r"n_draws: expected an integer >= 1, got 0"),
        id="zero-draws",
    ),
    pytest.param(
        {"sample": True, "n_draws": -1},
        _raises(ValueError, r"n_draws: expected an integer >= 1, got -1"),
        id="negative-draws",
    ),
    pytest.param(
        {"sample": True, "n_draws": 2.5},
        _raises(TypeError, r"n_draws: expected an integer >= 1, got 2.5"),
        id="fractional-draws",
    ),
    pytest.param(
        {"sample": True, "seed": "a"},
        _raises(TypeError, r"seed: expected None or an integer >= 0, got 'a'"),
        id="seed-text",
    ),
    pytest.param(
        {"sample": 1}, _raises(TypeError, r"sample: expected True or False, got 1"), id="sample-1"
    ),
]


@pytest.mark.parametrize(("kwargs", "expectation"), LATENTS)
def test_latents(model, kwargs, expectation):
    with expectation:
        latents = model.latents(**kwargs)
    if isinstance(expectation, does_not_raise):
        assert np.isfinite(latents.values).all()


DECODE = [
    pytest.param({}, does_not_raise(), id="default-label"),
    pytest.param({"label": "position"}, does_not_raise(), id="another-label"),
    pytest.param(
        {"classifier": LogisticRegression(max_iter=200)}, does_not_raise(), id="classifier"
    ),
    pytest.param(
        {"label": "colour"},
        _raises(
            ValueError,
            r"subject 'Barat': label 'colour' is not a trial label of the fitted data "
            r"\(labels: .*odor",
        ),
        id="unknown-label",
    ),
    pytest.param(
        {"label": "trial"},
        _raises(ValueError, r"subject 'Barat': label 'trial' is not a trial label"),
        id="trial-ids",
    ),
    pytest.param(
        {"label": 3},
        _raises(ValueError, r"subject 'Barat': label 3 is not a trial label"),
        id="label-not-a-string",
    ),
    pytest.param(
        {"label": "correct"},
        _raises(
            ValueError,
            r"subject 'Barat': label 'correct' takes one value \(np\.True_\) in the training "
            r"trials; a classifier needs two or more",
        ),
        id="one-value",
    ),
    pytest.param(
        {"classifier": "svm"},
        _raises(TypeError, r"classifier: expected a scikit-learn classifier .*got str"),
        id="classifier-name",
    ),
]


@pytest.mark.parametrize(("kwargs", "expectation"), DECODE)
def test_decode(model, kwargs, expectation):
    with expectation:
        ds = model.decode(**kwargs)
    if isinstance(expectation, does_not_raise):
        assert set(ds["accuracy"].rat.values) == {"Barat", "Mitt"}


# --------------------------------------------------------------------------- to_nwb


@pytest.fixture(scope="module")
def files(rec, tmp_path_factory):
    folder = tmp_path_factory.mktemp("nwb")
    return {s: write_recording(r, folder / f"{s}.nwb") for s, r in rec.items()}


TO_NWB = [
    pytest.param(
        lambda files, tmp: ((files,), {"out_dir": tmp / "out"}),
        does_not_raise(),
        id="files-to-a-new-folder",
    ),
    pytest.param(
        lambda files, tmp: (({"Barat": tmp / "x.nwb", "Mitt": files["Mitt"]},), {}),
        _raises(ValueError, r"subject 'Barat': .*x\.nwb: not an NWB file: NWB files are HDF5"),
        id="not-hdf5",
    ),
    pytest.param(
        lambda files, tmp: (({"Barat": files["Mitt"], "Mitt": files["Barat"]},), {}),
        _raises(ValueError, r"subject 'Barat': .*Mitt\.nwb holds subject 'Mitt', not 'Barat'"),
        id="another-subject's-file",
    ),
    pytest.param(
        lambda files, tmp: (({"Barat": tmp, "Mitt": files["Mitt"]},), {}),
        _raises(FileNotFoundError, r"subject 'Barat': .*: not a file \(a folder\?\)"),
        id="folder",
    ),
    pytest.param(
        lambda files, tmp: ((files,), {"overwrite": "yes"}),
        _raises(TypeError, r"overwrite: expected True or False, got 'yes'"),
        id="overwrite-not-bool",
    ),
    pytest.param(
        lambda files, tmp: ((files,), {"out_dir": tmp / "x.nwb"}),
        _raises(NotADirectoryError, r"out_dir: .*x\.nwb is not a folder"),
        id="out-dir-is-a-file",
    ),
]


@pytest.mark.parametrize(("setup", "expectation"), TO_NWB)
def test_to_nwb(model, files, tmp_path, setup, expectation):
    (tmp_path / "x.nwb").write_bytes(b"plain text")
    args, kwargs = setup(files, tmp_path)
    with expectation:
        written = model.to_nwb(*args, **kwargs)
    if isinstance(expectation, does_not_raise):
        assert sorted(written) == ["Barat", "Mitt"]


# --------------------------------------------------------------------------- load


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X, _ = nm.datasets.make_multiview(n_samples=200, seed=0)
    vae = nm.MultimodalVAE(epochs=1, progress=False).fit(X)
    return vae.save(tmp_path_factory.mktemp("model") / "model.nmx")


def _cut(fraction):
    def make(saved, tmp):
        data = saved.read_bytes()
        path = tmp / "cut.nmx"
        path.write_bytes(data[: int(len(data) * fraction)])
        return path

    return make


def _edited(config=None, weights=None, drop=None):
    """The saved model with config.json (a function of the config, or text) or
    weights.pt replaced, or one of them left out."""

    def make(saved, tmp):
        with zipfile.ZipFile(saved) as zf:
            text, raw = zf.read("config.json").decode(), zf.read("weights.pt")
        if config is not None:
            text = config if isinstance(config, str) else json.dumps(config(json.loads(text)))
        path = tmp / "edited.nmx"
        with zipfile.ZipFile(path, "w") as zf:
            if drop != "config.json":
                zf.writestr("config.json", text)
            if drop != "weights.pt":
                zf.writestr("weights.pt", raw if weights is None else weights)
        return path

    return make


LOAD = [
    pytest.param(lambda saved, tmp: saved, {}, does_not_raise(), id="valid"),
    pytest.param(lambda saved, tmp: str(saved), {"device": "cpu"}, does_not_raise(), id="cpu"),
    pytest.param(
        _cut(0.5),
        {},
        _raises(ValueError, r"cut\.nmx: not a neuromix model file, or a truncated one"),
        id="truncated-half",
    ),
    pytest.param(
        _cut(0.98),
        {},
        _raises(ValueError, r"cut\.nmx: not a neuromix model .*truncated"),
        id="truncated-end",
    ),
    pytest.param(
        _cut(0.0),
        {},
        _raises(ValueError, r"cut\.nmx: not a neuromix model file, or a truncated one"),
        id="empty",
    ),
    pytest.param(
        _edited(lambda c: {**c, "format_version": 2, "neuromix_version": "9.1.0"}),
        {},
        _raises(
            ValueError,
            r"saved by neuromix 9\.1\.0 in file format 2; this neuromix \(.*\) reads format 1\. "
            r"The file is newer than this neuromix: upgrade neuromix to load it",
        ),
        id="future-format",
    ),
    pytest.param(
        _edited(lambda c: {**c, "format_version": 0}),
        {},
        _raises(ValueError, r"in file format 0; .* Load it with the version that wrote it"),
        id="old-format",
    ),
    pytest.param(
        _edited("{not json"),
        {},
        _raises(ValueError, r"edited\.nmx: config\.json is not valid JSON"),
        id="config-not-json",
    ),
    pytest.param(
        _edited(lambda c: {k: v for k, v in c.items() if k != "shapes"}),
        {},
        _raises(
            ValueError,
            r"edited\.nmx: the model file is damaged or incomplete: config\.json and "
            r"weights\.pt do not describe a MultimodalVAE \(KeyError: missing entry 'shapes'\)",
        ),
        id="config-incomplete",
    ),
    pytest.param(
        _edited(weights=b""),
        {},
        _raises(ValueError, r"edited\.nmx: refused to load weights\.pt"),
        id="weights-empty",
    ),
    pytest.param(
        _edited(drop="weights.pt"),
        {},
        _raises(ValueError, r"edited\.nmx: not a neuromix model \(config\.json or weights\.pt"),
        id="weights-missing",
    ),
    pytest.param(
        lambda saved, tmp: tmp,
        {},
        _raises(IsADirectoryError, r"not a file \(a folder\?\); give a saved model file"),
        id="folder",
    ),
    pytest.param(
        lambda saved, tmp: tmp / "absent.nmx",
        {},
        _raises(FileNotFoundError, r"absent\.nmx: no such file"),
        id="missing",
    ),
    pytest.param(
        lambda saved, tmp: saved,
        {"device": "gpu9"},
        _raises(ValueError, r"device: Invalid device string: 'gpu9'"),
        id="device",
    ),
]


@pytest.mark.parametrize(("make", "kwargs", "expectation"), LOAD)
def test_load(saved, tmp_path, make, kwargs, expectation):
    path = make(saved, tmp_path)
    with expectation:
        model = nm.load(path, **kwargs)
    if isinstance(expectation, does_not_raise):
        assert model.subjects_ == ("a", "b", "c")
