"""`neuromix demo` on its quick setting: the files of its report and the windows it fits."""

import json

import pynwb

import neuromix as nm
from neuromix.demo import run_demo


def test_quick_demo_writes_its_report_and_fits_where_the_rats_respond(tmp_path, capsys):
    metrics = run_demo(tmp_path, quick=True, methods=("mmvm",), progress=False)
    sim = nm.datasets.simulate_odor_sequence(seed=0)
    # NWB files do not carry the simulator's response windows: the demo must pass them,
    # or every window would sit before the response (decoding at chance).
    expected = {name: r.metadata["window_start"] for name, r in sim.items()}
    assert metrics["settings"]["start"] == expected
    assert json.loads((tmp_path / "metrics.json").read_text())["settings"]["start"] == expected
    model = nm.load(tmp_path / "model_mmvm.nmx")
    assert model.starts_ == expected
    for name in ("embeddings_mmvm.png", "training_mmvm.png", "decoding_mmvm.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 0
    assert "| mmvm |" in (tmp_path / "report.md").read_text()
    with pynwb.NWBHDF5IO(tmp_path / "nwb" / "Mitt.nwb", "r") as io:
        assert "neuromix" in io.read().processing
    assert "Report:" in capsys.readouterr().out
