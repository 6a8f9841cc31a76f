"""NWB export of latents: round trip, nwbinspector, atomic writes, refusals, failures."""

import copy
import hashlib
import shutil
from contextlib import nullcontext as does_not_raise

import h5py
import numpy as np
import pandas as pd
import pynwb
import pytest
from nwbinspector import inspect_nwbfile
from pynwb import NWBHDF5IO

import neuromix as nm
from neuromix.io.nwb import write_latents
from neuromix.io.nwb.export import _trial_rows


def export_latents(model, paths=None, **kwargs):
    """io's export of a model's latents, given the data as NeuralModel.to_nwb gives it
    (without to_nwb's own early checks of ``paths``, so that io's checks are tested)."""
    return write_latents(
        model.latents(),
        {s: model.sources_.get(s) for s in model.subjects_},
        paths,
        subject_dim=model.subject_dim,
        method=model.method,
        beta=model.beta_,
        window=model.window,
        bin_size=model.bin_size,
        step=model.step,
        spans={s: (model.starts_[s], model.stops_[s]) for s in model.subjects_},
        params=model.get_params(deep=False),
        **kwargs,
    )


def test_to_nwb_writes_what_write_latents_writes(model, sources, tmp_path):
    a = model.to_nwb(out_dir=tmp_path / "a")
    b = export_latents(model, out_dir=tmp_path / "b")
    for s in model.subjects_:
        with NWBHDF5IO(a[s], "r") as io_a, NWBHDF5IO(b[s], "r") as io_b:
            one = io_a.read().processing["neuromix"]
            two = io_b.read().processing["neuromix"]
            assert one.description == two.description
            np.testing.assert_array_equal(one[SERIES].data[:], two[SERIES].data[:])
            assert one[SERIES].description == two[SERIES].description
            assert one[SERIES].comments == two[SERIES].comments


# Importance levels the issue forbids: critical, validation errors, best-practice violations.
SERIOUS = ("CRITICAL", "PYNWB_VALIDATION", "BEST_PRACTICE_VIOLATION")

SUBJECTS = ("Barat", "Buchanan", "Mitt", "Stella", "SuperChris")
SERIES, TABLE = "latents_mmvm", "latent_windows_mmvm"


@pytest.fixture(scope="module")
def simulated():
    return nm.datasets.simulate_odor_sequence(seed=0, n_trials=40, n_units=10)


@pytest.fixture(scope="module")
def sources(simulated, tmp_path_factory):
    """The pristine NWB files; tests that write in place work on copies (``files``)."""
    return nm.datasets.write_odor_sequence_nwb(simulated, tmp_path_factory.mktemp("sources"))


@pytest.fixture(scope="module")
def model(sources):
    recordings = nm.read_nwb(list(sources.values()))
    return nm.fit(recordings, subject_dim="rat", epochs=1, progress=False)


@pytest.fixture(scope="module")
def memory_model(simulated):
    """Two rats fitted from memory (no source file), with another method."""
    rats = {s: simulated[s] for s in ("Barat", "Mitt")}
    return nm.fit(rats, subject_dim="rat", method="poe", epochs=1, progress=False)


@pytest.fixture(scope="module")
def expected(model):
    """What each subject's file should hold, from model.latents() (computed once)."""
    latents = model.latents()
    return {s: _expected(latents, model.window, s) for s in model.subjects_}


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    return export_latents(model, out_dir=tmp_path_factory.mktemp("exported"))


@pytest.fixture
def files(sources, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    return {s: shutil.copy2(path, folder / path.name) for s, path in sources.items()}


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(*folders):
    return sorted(str(p.relative_to(f)) for f in folders for p in f.rglob("*"))


def _expected(latents, window, subject):
    """Latents of one subject, in time order, with their windows."""
    mine = latents.isel(sample=np.flatnonzero(latents["rat"].values == subject))
    starts = mine["start_time"].values + mine["time"].values
    order = np.argsort(starts + window / 2, kind="stable")
    return {
        "mean": mine.values[order],
        "centre": (starts + window / 2)[order],
        "start": starts[order],
        "time": mine["time"].values[order],
        "trial": mine["trial"].values[order],
        "window": mine["window"].values[order],
        "split": mine["split"].values[order].astype(str),
    }


def _read(path, method="mmvm"):
    with NWBHDF5IO(path, "r") as io:
        nwbfile = io.read()
        module = nwbfile.processing["neuromix"]
        series = module[f"latents_{method}"]
        table = module[f"latent_windows_{method}"]
        return {
            "names": sorted(module.data_interfaces),
            "description": module.description,
            "mean": series.data[:],
            "timestamps": series.timestamps[:],
            "unit": series.unit,
            "series_description": series.description,
            "table": table.to_dataframe(index=True),
            "trial_rows": table["trial"].data[:],
            "trial_starts": nwbfile.trials["start_time"].data[:],
            "trial_ids": nwbfile.trials.id.data[:],
            "references": [
                (r.idx_start, r.count, r.timeseries.name) for (r,) in table["timeseries"][:]
            ],
        }


def _acquisition(path):
    with NWBHDF5IO(path, "r") as io:
        nwbfile = io.read()
        units = nwbfile.units
        spikes = [units["spike_times"][i] for i in range(len(units))]
        return nwbfile.trials.to_dataframe(), np.asarray(units.id.data[:]), spikes


# ------------------------------------------------------------------ content


@pytest.mark.parametrize("subject", SUBJECTS)
def test_series_holds_the_model_latents_in_time_order(model, expected, exported, subject):
    expected, read = expected[subject], _read(exported[subject])
    np.testing.assert_array_equal(read["mean"], expected["mean"])
    np.testing.assert_allclose(read["timestamps"], expected["centre"], rtol=0, atol=1e-9)
    assert np.all(np.diff(read["timestamps"]) >= 0)
    assert read["mean"].shape == (40 * model.n_windows_, model.latent_dim)
    assert read["unit"] == "a.u."
    for text in ("100 ms", "10 ms bins", "cut every 10 ms", "Each row is one window"):
        assert text in read["series_description"]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_window_table_traces_each_row_to_its_trial(model, expected, exported, subject):
    expected, read = expected[subject], _read(exported[subject])
    table = read["table"]
    np.testing.assert_array_equal(table["trial_id"], expected["trial"])
    np.testing.assert_array_equal(table["window"], expected["window"])
    np.testing.assert_array_equal(table["split"].astype(str), expected["split"])
    np.testing.assert_allclose(table["start_time"], expected["start"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(table["stop_time"] - table["start_time"], model.window)
    # The trial column points at the trial's row of nwbfile.trials.
    np.testing.assert_array_equal(read["trial_ids"][read["trial_rows"]], expected["trial"])
    onsets = read["trial_starts"][read["trial_rows"]]
    np.testing.assert_allclose(table["start_time"] - onsets, expected["time"], atol=1e-9)
    assert read["references"] == [(i, 1, SERIES) for i in range(len(table))]
    assert set(table["split"]) == {"train", "test"}


def test_module_description_names_the_model(model, exported):
    description = _read(exported["Mitt"])["description"]
    # the fitted beta (chosen by beta="auto" at the defaults)
    assert (
        f"latents_mmvm: neuromix {nm.__version__}, method mmvm, beta {model.beta_:g}, latent_dim 2, 5 rats "
        "modelled jointly (Barat, Buchanan, Mitt, Stella, SuperChris)"
    ) in description
    assert description.startswith("Latents of multimodal VAEs fitted with neuromix")
    assert nm.__version__ in description


@pytest.mark.parametrize("subject", ["Barat", "SuperChris"])
def test_recorded_data_is_unchanged(sources, exported, subject):
    (trials, unit_ids, spikes), (trials0, unit_ids0, spikes0) = (
        _acquisition(exported[subject]),
        _acquisition(sources[subject]),
    )
    pd.testing.assert_frame_equal(trials, trials0)
    np.testing.assert_array_equal(unit_ids, unit_ids0)
    for mine, theirs in zip(spikes, spikes0, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_exported_file_passes_nwbinspector(exported):
    messages = list(inspect_nwbfile(nwbfile_path=str(exported["Stella"])))
    serious = [m for m in messages if m.importance.name in SERIOUS]
    assert serious == []
    assert {m.check_function_name for m in messages} <= {
        "check_experimenter_exists",
        "check_experiment_description",
        "check_institution",
        "check_keywords",
        "check_processing_module_name",  # "neuromix" is not a schema module name
    }


# ------------------------------------------------------------------ where files go


def test_out_dir_leaves_sources_byte_identical(model, sources, tmp_path):
    before = {s: _sha(p) for s, p in sources.items()}
    written = model.to_nwb(out_dir=tmp_path / "out")
    assert written == {s: tmp_path / "out" / p.name for s, p in sources.items()}
    assert {s: _sha(p) for s, p in sources.items()} == before
    assert _listing(tmp_path) == sorted(["out", *(f"out/{s}.nwb" for s in SUBJECTS)])
    assert _listing(sources["Barat"].parent) == sorted(f"{s}.nwb" for s in SUBJECTS)


def test_default_mode_replaces_each_file_atomically(model, expected, files):
    stats = {s: p.stat() for s, p in files.items()}
    written = export_latents(model, files)
    assert written == files
    for s, path in files.items():
        assert path.stat().st_ino != stats[s].st_ino  # a new file moved into place
        assert path.stat().st_size > stats[s].st_size
        assert path.stat().st_mode == stats[s].st_mode
    assert _listing(files["Barat"].parent) == sorted(f"{s}.nwb" for s in SUBJECTS)
    np.testing.assert_array_equal(_read(files["Mitt"])["mean"], expected["Mitt"]["mean"])


def test_in_memory_data_goes_to_the_files_given(memory_model, simulated, tmp_path):
    files = {
        s: nm.write_recording(simulated[s], tmp_path / f"{s}.nwb") for s in memory_model.subjects_
    }
    export_latents(memory_model, files)
    read = _read(files["Barat"], method="poe")
    assert read["names"] == ["latent_windows_poe", "latents_poe"]
    latents = memory_model.latents()
    np.testing.assert_array_equal(
        read["mean"], _expected(latents, memory_model.window, "Barat")["mean"]
    )


@pytest.mark.parametrize(
    ("ids", "wanted", "onsets", "expectation", "rows"),
    [
        pytest.param(None, [12, 10, 12], None, does_not_raise(), [2, 0, 2], id="int-ids"),
        pytest.param("t{}", ["t12", "t10"], None, does_not_raise(), [2, 0], id="str-ids"),
        pytest.param(
            "t{}", ["t11"], [4.0], does_not_raise(), [1], id="str-ids-with-matching-onsets"
        ),
        pytest.param(
            None,
            [10, 99],
            None,
            pytest.raises(ValueError, match=r"R1\.nwb has no trial\(s\) 99 that the model was"),
            None,
            id="unknown-trial",
        ),
        pytest.param(
            None,
            [10],
            [5.0],
            pytest.raises(ValueError, match=r"R1\.nwb: trial start times differ from those the"),
            None,
            id="other-onsets",
        ),
    ],
)
def test_windows_are_traced_to_trial_rows(tmp_path, ids, wanted, onsets, expectation, rows):
    # String trial ids end to end are out of reach here: fitting them fails in pair_trials
    # (pandas 3 string index dtype), so the id matching is checked on its own.
    trials = pd.DataFrame(
        {"start_time": [1.0, 4.0, 7.0], "stop_time": [3.0, 6.0, 9.0]},
        index=[10, 11, 12] if ids is None else [ids.format(i) for i in (10, 11, 12)],
    )
    recording = nm.from_arrays([np.array([0.5, 2.0])], trials, subject="R1")
    path = nm.write_recording(recording, tmp_path / "R1.nwb")
    with NWBHDF5IO(path, "r") as io, expectation:
        trials = io.read().trials
        found = _trial_rows("R1", path, trials, np.asarray(wanted, dtype=object), onsets)
        np.testing.assert_array_equal(found, rows)


def test_other_methods_are_kept(model, memory_model, expected, files):
    export_latents(model, files)
    export_latents(memory_model, {s: files[s] for s in memory_model.subjects_})
    read = _read(files["Barat"], method="poe")
    assert read["names"] == [
        "latent_windows_mmvm",
        "latent_windows_poe",
        "latents_mmvm",
        "latents_poe",
    ]
    lines = read["description"].splitlines()[1:]
    assert [line.split(":")[0] for line in lines] == ["latents_mmvm", "latents_poe"]
    np.testing.assert_array_equal(_read(files["Barat"])["mean"], expected["Barat"]["mean"])
    assert "latents_poe" not in _read(files["Stella"])["names"]


def test_overwrite_replaces_the_old_latents(model, expected, simulated, files):
    export_latents(model, files)
    rats = {s: simulated[s] for s in ("Barat", "Mitt")}
    other = nm.fit(rats, subject_dim="rat", epochs=1, seed=1, progress=False)
    with pytest.raises(FileExistsError, match=r"subject 'Barat': .*latents_mmvm"):
        export_latents(other, {s: files[s] for s in other.subjects_})
    export_latents(other, {s: files[s] for s in other.subjects_}, overwrite=True)
    read = _read(files["Barat"])
    assert read["names"] == [TABLE, SERIES]
    new = _expected(other.latents(), other.window, "Barat")["mean"]
    assert not np.array_equal(new, expected["Barat"]["mean"])
    np.testing.assert_array_equal(read["mean"], new)
    assert read["references"] == [(i, 1, SERIES) for i in range(len(new))]
    assert "2 rats modelled jointly (Barat, Mitt)" in read["description"]
    assert "5 rats" not in read["description"]
    with h5py.File(files["Barat"], "r") as file:
        assert sorted(file["processing/neuromix"]) == [TABLE, SERIES]
    assert pynwb.validate(path=str(files["Barat"])) == []
    messages = inspect_nwbfile(nwbfile_path=str(files["Barat"]))
    assert not [m for m in messages if m.importance.name in SERIOUS]
    # Files the second model did not cover keep the first model's latents.
    np.testing.assert_array_equal(_read(files["Stella"])["mean"], expected["Stella"]["mean"])


# ------------------------------------------------------------------ refusals and failures


def _already_exported(model, memory, files, tmp):
    paths = {s: files[s] for s in memory.subjects_}
    export_latents(memory, paths)
    return memory, (paths,), {}


def _moved(model, memory, files, tmp):
    """The model, with its source files moved away since it was fitted."""
    moved = copy.copy(model)
    moved.sources_ = {s: str(tmp / "moved" / f"{s}.nwb") for s in model.subjects_}
    return moved, (), {}


ERRORS = [
    pytest.param(
        lambda model, memory, files, tmp: (memory, (), {}),
        pytest.raises(
            ValueError,
            match=r"subject 'Barat': no NWB file to write the latents to: the model was fitted "
            r"on data in memory; pass paths=\{'Barat': file\}, "
            r"e\.g\. after writing the recording with neuromix\.write_recording",
        ),
        id="in-memory-without-paths",
    ),
    pytest.param(
        _moved,
        pytest.raises(
            FileNotFoundError,
            match=r"subject 'Barat': .*moved/Barat\.nwb, the file the model was fitted from, "
            r"no longer exists; pass paths=\{'Barat': file\}",
        ),
        id="source-moved",
    ),
    pytest.param(
        lambda model, memory, files, tmp: (model, ([files["Barat"]],), {}),
        pytest.raises(TypeError, match=r"paths must be a mapping subject -> NWB file.*got list"),
        id="paths-not-a-mapping",
    ),
    pytest.param(
        lambda model, memory, files, tmp: (model, ({"Nobody": files["Barat"]},), {}),
        pytest.raises(
            ValueError, match=r"paths: subject 'Nobody' was not fitted; fitted subjects"
        ),
        id="unknown-subject",
    ),
    pytest.param(
        lambda model, memory, files, tmp: (model, ({"Mitt": tmp / "none.nwb"},), {}),
        pytest.raises(FileNotFoundError, match=r"subject 'Mitt': .*none\.nwb: no such file"),
        id="missing-file",
    ),
    pytest.param(
        lambda model, memory, files, tmp: (
            model,
            ({"Barat": files["Mitt"], "Mitt": files["Barat"]},),
            {},
        ),
        pytest.raises(ValueError, match=r"Mitt\.nwb holds subject 'Mitt', not 'Barat'"),
        id="another-subject's-file",
    ),
    pytest.param(
        lambda model, memory, files, tmp: (
            model,
            ({"Barat": files["Mitt"], "Mitt": files["Mitt"]},),
            {},
        ),
        pytest.raises(ValueError, match=r"subjects 'Barat' and 'Mitt' would both be written"),
        id="two-subjects-one-file",
    ),
    pytest.param(
        _already_exported,
        pytest.raises(
            FileExistsError,
            match=r"subject 'Barat': .*Barat\.nwb already holds processing/neuromix/"
            r"latents_poe; pass overwrite=True",
        ),
        id="latents-exist",
    ),
    pytest.param(
        lambda model, memory, files, tmp: (
            *_already_exported(model, memory, files, tmp)[:2],
            {"overwrite": True},
        ),
        does_not_raise(),
        id="latents-exist-overwrite",
    ),
    pytest.param(
        lambda model, memory, files, tmp: (
            model,
            (files,),
            {"out_dir": shutil.copytree(files["Barat"].parent, tmp / "out")},
        ),
        pytest.raises(FileExistsError, match=r"subject 'Barat': .*out/Barat\.nwb exists; pass"),
        id="out-dir-file-exists",
    ),
    pytest.param(
        lambda model, memory, files, tmp: (nm.NeuralModel(), (), {}),
        pytest.raises(RuntimeError, match="not fitted yet"),
        id="not-fitted",
    ),
]


@pytest.mark.parametrize(("setup", "expectation"), ERRORS)
def test_argument_errors(model, memory_model, files, sources, tmp_path, setup, expectation):
    used, args, kwargs = setup(model, memory_model, files, tmp_path)
    before = {p: _sha(p) for p in [*files.values(), *sources.values()]}
    listing = _listing(tmp_path, sources["Barat"].parent)
    with expectation as raised:
        export_latents(used, *args, **kwargs)
    if raised is not None:  # a refusal writes nothing
        assert {p: _sha(p) for p in before} == before
        assert _listing(tmp_path, sources["Barat"].parent) == listing


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("out_dir", [False, True], ids=["in-place", "out-dir"])
def test_failure_mid_write_leaves_every_file_intact(model, files, tmp_path, monkeypatch, out_dir):
    before = {p: _sha(p) for p in files.values()}
    write = NWBHDF5IO.write
    calls = []

    def fail_on_the_third_subject(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise Boom("disk full")
        return write(self, *args, **kwargs)

    monkeypatch.setattr(NWBHDF5IO, "write", fail_on_the_third_subject)
    kwargs = {"out_dir": tmp_path / "out"} if out_dir else {}
    with pytest.raises(Boom, match="disk full"):
        export_latents(model, files, **kwargs)
    assert {p: _sha(p) for p in files.values()} == before
    expected = sorted(["files", *(f"files/{s}.nwb" for s in SUBJECTS)])
    assert _listing(tmp_path) == (sorted([*expected, "out"]) if out_dir else expected)
