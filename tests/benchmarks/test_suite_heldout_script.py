"""benchmarks/suite_heldout.py: the draws' report (the suite's targets per draw), on
hand-made run files."""

import json

import pandas as pd

SCRIPT_NAME = "suite_heldout"  # the `script` fixture (tests/conftest.py) imports it


def _run(out, dataset, method, within, transfer, margin=0.3, chance=0.3, **extra):
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    record = {"dataset": dataset, "method": method, "what": f"{dataset}, made by hand",
              "within": within, "transfer": transfer, "worst_margin": margin, "chance": chance,
              **extra}  # fmt: skip
    (runs / f"{dataset}__{method}.json").write_text(json.dumps(record))


def test_draws_parse_ranges_and_lists(script):
    assert script.draws("0-3") == [0, 1, 2, 3]
    assert script.draws("2,5-6,9") == [2, 5, 6, 9]


def test_report_gives_the_targets_of_each_draw(script, tmp_path):
    # draw-2: the defaults meet the reference (0.80 >= 0.81 - 0.02, 0.78 >= 0.79 - 0.02)
    _run(tmp_path, "draw-2", "mmvm", 0.80, 0.78, beta=4.0, link="softplus")
    _run(tmp_path, "draw-2", "mmvm-link-auto", 0.84, 0.83, beta=1.0, link="exp")
    _run(tmp_path, "draw-2", "reference-b1", 0.81, 0.70)
    _run(tmp_path, "draw-2", "reference-b10", 0.75, 0.79)
    _run(tmp_path, "draw-2", "raw", 0.90, None)
    _run(tmp_path, "draw-2", "srm", 0.70, 0.60)
    # draw-10: the defaults miss it (transfer 0.50 < 0.60 - 0.02) and a pair (0.05 < 0.10)
    _run(tmp_path, "draw-10", "mmvm", 0.62, 0.50, margin=0.05, beta=16.0, link="softplus")
    _run(tmp_path, "draw-10", "mmvm-link-auto", 0.60, 0.59, beta=4.0, link="softplus")
    _run(tmp_path, "draw-10", "reference-b1", 0.62, 0.60)
    _run(tmp_path, "draw-10", "reference-b10", 0.55, 0.52)
    _run(tmp_path, "draw-11", "mmvm", 0.62, 0.50, chance=0.25, beta=1.0, link="softplus")
    _run(tmp_path, "draw-10", "procrustes", 0.50, 0.45)
    text = script.report(tmp_path)
    table = pd.read_csv(tmp_path / "heldout.csv")
    assert len(table) == 12 and "what" not in table
    section = text.split("## Targets: `mmvm`")[1].split("## ")[0]
    rows = {line.split(" | ")[0].strip("| "): line for line in section.splitlines()
            if line.startswith("| draw-")}  # fmt: skip
    assert list(rows) == ["draw-2", "draw-10", "draw-11"]  # by number, not as text
    # draw-2: vs reference met, transfer 0.78 >= 0.95 x 0.80 met, vs srm met, vs raw
    # missed (0.80 < 0.88), pairs met
    assert rows["draw-2"].endswith("| met | met | met | **missed** | met |")
    assert "| draw-2 | 0.300 | 0.800 | 0.780 | 0.810 / 0.790 | 4 | softplus |" in rows["draw-2"]
    # draw-11: no reference, no peer: those targets are not measured
    assert rows["draw-11"] == (
        "| draw-11 | 0.250 | 0.620 | 0.500 | – | 1 | softplus | – | **missed** | – | – | met |"
    )
    # draw-10: reference missed, 0.50 < 0.95 x 0.62 missed, 0.50 >= 0.45 met, no raw
    assert rows["draw-10"].endswith("| **missed** | **missed** | met | – | **missed** |")
    summary = text.split("## Summary")[1]
    assert "`mmvm`: vs reference 1/2; transfer >= 0.95 within 1/3; vs aligners 2/2; " in summary
    assert "vs raw 0/1; pairs above chance + 0.10 2/3" in summary
    # quality: defaults (0.79 + 0.56) / 2 = 0.675, link auto (0.835 + 0.595) / 2 = 0.715
    assert "defaults 0.675, link auto 0.715" in summary
    assert "min +0.035, max +0.045" in summary
    # draw-11 lacks the references: the means are over draw-2 and draw-10
    assert (
        "means over the 2 draws where all of them ran (within / transfer): mmvm 0.710 / "
        "0.640; mmvm-link-auto 0.720 / 0.710; reference-b1 0.715 / 0.650; reference-b10 "
        "0.650 / 0.655" in summary
    )
    assert (tmp_path / "heldout.md").read_text() == text


def test_report_means_the_references_also_over_draws_link_auto_skipped(script, tmp_path):
    for draw, (w, t) in {"draw-3": (0.60, 0.50), "draw-4": (0.80, 0.70)}.items():
        _run(tmp_path, draw, "mmvm", w, t, beta=1.0, link="softplus")
        _run(tmp_path, draw, "reference-b1", w - 0.10, t - 0.10)
        _run(tmp_path, draw, "reference-b10", w - 0.20, t - 0.20)
    _run(tmp_path, "draw-4", "mmvm-link-auto", 0.90, 0.90, beta=1.0, link="exp")
    summary = script.report(tmp_path).split("## Summary")[1]
    # the defaults and references over draws 3 and 4: (0.60 + 0.80) / 2, (0.50 + 0.70) / 2
    assert (
        "means over the 2 draws where all of them ran (within / transfer): mmvm 0.700 / "
        "0.600; reference-b1 0.600 / 0.500; reference-b10 0.500 / 0.400" in summary
    )
    # with link="auto": draw-4 alone
    assert (
        "means over the 1 draws where all of them ran (within / transfer): mmvm 0.800 / "
        "0.700; mmvm-link-auto 0.900 / 0.900; reference-b1 0.700 / 0.600; reference-b10 "
        "0.600 / 0.500" in summary
    )
