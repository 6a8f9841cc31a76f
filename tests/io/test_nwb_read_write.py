"""NWB: round trip, nwbinspector, lazy reads that never modify the file, atomic writes."""

import hashlib
import re
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from nwbinspector import Importance, inspect_nwbfile

from neuromix.data import bin_trials, from_arrays
from neuromix.io.nwb import NWBSpikeTimes, read_nwb, write_recording


def _recording(subject="R1", unit_ids=None, time_resolution=1 / 30000, trial_ids=None):
    rng = np.random.default_rng(0)
    n_trials = 6
    trials = pd.DataFrame(
        {
            "start_time": np.arange(n_trials) * 3.0 + 1.0,
            "stop_time": np.arange(n_trials) * 3.0 + 3.0,
            "odor": np.array(list("ABCD"))[np.arange(n_trials) % 4],
            "correct": np.arange(n_trials) % 2 == 0,
            "position": np.arange(n_trials) + 1,
            "poke_duration": np.linspace(0.5, 1.5, n_trials),
        },
        index=trial_ids if trial_ids is not None else np.arange(10, 10 + n_trials),
    )
    ticks = [np.sort(rng.choice(600_000, size=n, replace=False)) for n in (50, 0, 120, 7)]
    spikes = [t / 30000 for t in ticks]
    return from_arrays(
        spikes,
        trials,
        subject=subject,
        unit_ids=unit_ids,
        time_resolution=time_resolution,
        metadata={"session_start_time": datetime(2021, 3, 4, 12, 0, tzinfo=UTC)},
    )


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_same(read, written):
    assert read.subject == written.subject
    assert read.time_resolution == written.time_resolution
    np.testing.assert_array_equal(read.unit_ids, written.unit_ids)
    assert len(read.spike_times) == len(written.spike_times)
    for mine, theirs in zip(read.spike_times, written.spike_times, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), theirs)
    pd.testing.assert_frame_equal(read.trials, written.trials, check_dtype=False)
    for column in written.trials.columns:
        assert read.trials[column].dtype.kind == written.trials[column].dtype.kind


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="int-ids"),
        pytest.param({"unit_ids": ["u1", "u2", "u3", "u4"]}, id="unit-names"),
        pytest.param({"trial_ids": ["t1", "t2", "t3", "t4", "t5", "t6"]}, id="trial-names"),
        pytest.param({"time_resolution": None}, id="no-resolution"),
    ],
)
def test_round_trip(tmp_path, kwargs):
    rec = _recording(**kwargs)
    path = write_recording(rec, tmp_path / "r1.nwb")
    assert path == tmp_path / "r1.nwb"
    read = read_nwb(path)
    assert list(read) == ["R1"]
    _assert_same(read["R1"], rec)
    assert read["R1"].metadata["species"] == "Rattus norvegicus"
    assert read["R1"].metadata["session_start_time"] == datetime(2021, 3, 4, 12, tzinfo=UTC)
    # The binned form is the same from the file as from memory.
    assert bin_trials(read["R1"], start=0.0, stop=2.0).equals(bin_trials(rec, start=0.0, stop=2.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r1.nwb"]  # no temporary left


SERIOUS = {Importance.CRITICAL, Importance.PYNWB_VALIDATION, Importance.BEST_PRACTICE_VIOLATION}


def _serious_checks(path):
    messages = [m for m in inspect_nwbfile(nwbfile_path=path) if m is not None]
    return [m.check_function_name for m in messages if m.importance in SERIOUS]


@pytest.mark.parametrize(
    "kwargs", [{}, {"unit_ids": ["a", "b", "c", "d"], "trial_ids": list("abcdef")}]
)
def test_written_file_passes_nwbinspector(tmp_path, kwargs):
    path = write_recording(_recording(**kwargs), tmp_path / "r1.nwb")
    assert _serious_checks(path) == []


def test_unknown_resolution_is_the_only_inspector_complaint(tmp_path):
    # An unknown clock resolution is not invented: the inspector's best-practice
    # violation "resolution is not set" is the honest outcome, and the only one.
    path = write_recording(_recording(time_resolution=None), tmp_path / "r1.nwb")
    assert _serious_checks(path) == ["check_units_resolution_is_set"]


def test_reading_never_modifies_the_file(tmp_path):
    path = write_recording(_recording(), tmp_path / "r1.nwb")
    before, stat = _sha(path), path.stat()
    rec = read_nwb([path])["R1"]
    for unit in rec.spike_times:
        np.asarray(unit)
    np.asarray(rec.spike_times[2])
    bin_trials(rec, start=0.0, stop=1.0)
    assert _sha(path) == before
    assert path.stat().st_mtime_ns == stat.st_mtime_ns


def test_spike_times_are_lazy(tmp_path):
    rec = _recording()
    path = write_recording(rec, tmp_path / "r1.nwb")
    lazy = read_nwb(path)["R1"].spike_times
    assert isinstance(lazy, NWBSpikeTimes)
    assert len(lazy) == 4 and lazy.path == path.resolve()
    np.testing.assert_array_equal(lazy[-1], rec.spike_times[3])
    assert lazy[1].shape == (0,) and lazy[1].dtype == np.float64
    assert [u.size for u in lazy[1:3]] == [0, 120]
    with pytest.raises(IndexError):
        lazy[4]
    # A file replaced after reading is an error, not silently other data.
    write_recording(_recording(), path, overwrite=True)
    with pytest.raises(RuntimeError, match="the file changed since it was read"):
        lazy[0]


def test_write_refuses_to_overwrite(tmp_path):
    path = write_recording(_recording(), tmp_path / "r1.nwb")
    before = _sha(path)
    with pytest.raises(FileExistsError, match=re.escape("subject 'R2': ")):
        write_recording(_recording(subject="R2"), path)
    assert _sha(path) == before
    write_recording(_recording(subject="R2"), path, overwrite=True)
    assert list(read_nwb(path)) == ["R2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r1.nwb"]


def test_failed_write_leaves_nothing(tmp_path):
    rec = _recording()
    rec.trials["when"] = pd.Timestamp("2020-01-01")
    with pytest.raises(TypeError, match=re.escape("subject 'R1': trials: column 'when'")):
        write_recording(rec, tmp_path / "r1.nwb")
    assert list(tmp_path.iterdir()) == []


def test_read_several_files(tmp_path):
    paths = [write_recording(_recording(subject=s), tmp_path / f"{s}.nwb") for s in ("B", "A")]
    assert list(read_nwb(paths)) == ["B", "A"]
    with pytest.raises(ValueError, match=re.escape("subject 'B': found in two files")):
        read_nwb([paths[0], paths[0]])


def test_file_without_subject_id(tmp_path):
    from pynwb import NWBHDF5IO, NWBFile

    nwbfile = NWBFile(
        session_description="no subject",
        identifier="x",
        session_start_time=datetime(2021, 1, 1, tzinfo=UTC),
    )
    nwbfile.add_trial(start_time=0.0, stop_time=1.0)
    nwbfile.add_unit(spike_times=[0.5])
    path = tmp_path / "anonymous.nwb"
    with NWBHDF5IO(path, "w") as io:
        io.write(nwbfile)
    with pytest.raises(ValueError, match=r"no subject id \(nwbfile.subject.subject_id\); set it"):
        read_nwb(path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_nwb(tmp_path / "missing.nwb")
