"""``neuromix fit`` on NWB files written by pynwb, as a lab's pipeline writes them, and
``neuromix report``: what a user gets in --out, and the errors before any work."""

import subprocess
import sys

import h5py
import numpy as np
import pytest

import neuromix as nm
from neuromix.cli import main
from neuromix.io.nwb import MODULE_NAME, write_recording


@pytest.fixture(scope="module")
def nwb_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lab")
    rec = nm.datasets.simulate_odor_sequence(
        seed=0, n_trials=40, n_units=8, subjects=("Barat", "Mitt", "Stella")
    )
    return [write_recording(r, folder / f"{s.lower()}.nwb") for s, r in rec.items()]


FAST = ["--epochs", "2", "--beta", "1", "--patience", "none", "--no-progress"]


def _digest(path):
    return path.read_bytes()


@pytest.mark.slow
def test_fit_writes_model_latents_and_report(nwb_files, tmp_path, capsys):
    before = [_digest(p) for p in nwb_files]
    out = tmp_path / "run"
    argv = ["fit", *map(str, nwb_files), "--subject-dim", "rat", "--label", "odor",
            "--start", "0.25", "--out", str(out), *FAST]  # fmt: skip
    assert main(argv) == 0
    stages = capsys.readouterr().err.splitlines()
    assert stages[0].startswith("neuromix fit [") and "reading 3 NWB files" in stages[0]
    assert any("report: Decoding" in line for line in stages)
    model = nm.load(out / "model.nmx")
    assert model.subjects_ == ("Barat", "Mitt", "Stella") and model.subject_dim == "rat"
    assert model.get_params()["epochs"] == 2 and model.get_params()["patience"] is None
    assert model.starts_ == {"Barat": 0.25, "Mitt": 0.25, "Stella": 0.25}
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64") >= 8 and "http" not in page.split("<body>")[1]
    # the latents in copies; the lab's files untouched
    assert [_digest(p) for p in nwb_files] == before
    latents = model.latents()
    for p, s in zip(nwb_files, model.subjects_, strict=True):
        with h5py.File(out / p.name, "r") as f:
            stored = f[f"processing/{MODULE_NAME}/latents_mmvm/data"][()]
        assert stored.shape[-1] == 2 and len(stored) == int((latents.rat == s).sum())
    # a second run into the same folder is refused (before any work)
    with pytest.raises(SystemExit, match="exists; pass --overwrite"):
        main(argv)
    # the report again, from the saved model
    assert main(["report", str(out), "--out", str(tmp_path / "again.html")]) == 0
    assert (tmp_path / "again.html").read_text().count("data:image/png;base64") >= 8


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--method", "nope"], "method"),
        (["--test-size", "2"], "test_size"),
        (["--start", "soon"], "--start: expected 'auto', seconds"),
        (["--where", "[1]"], "--where: expected a JSON object"),
    ],
)
def test_bad_options_are_refused_before_reading_a_file(tmp_path, capsys, extra, message):
    missing = str(tmp_path / "nowhere.nwb")  # never read: the options fail first
    try:
        code = main(["fit", missing, "--out", str(tmp_path / "run"), *extra])
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_bad_file_is_named(tmp_path, capsys):
    bad = tmp_path / "notes.nwb"
    bad.write_text("not an NWB file")
    assert main(["fit", str(bad), str(bad), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "neuromix fit: error:" in err and "notes.nwb" in err


def test_help_lists_every_option():
    text = subprocess.run(
        [sys.executable, "-m", "neuromix.cli", "fit", "--help"], capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    for option in ("--subject-dim", "--label", "--start", "--beta", "--in-place", "--out",
                   "--patience", "--where", "--method"):  # fmt: skip
        assert option in text
    assert np.all([line.rstrip() == line for line in text.splitlines()])
