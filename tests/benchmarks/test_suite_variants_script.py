"""benchmarks/suite_variants.py: the seeds report (defaults against the minimal MMVM over
model seeds), on hand-made run files."""

import json
from pathlib import Path

import pandas as pd
import pytest

SCRIPT_NAME = "suite_variants"  # the `script` fixture (tests/conftest.py) imports it


def _run(folder: Path, dataset: str, within: float, transfer: float, method="mmvm"):
    runs = folder / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    key = f"dataset={dataset}__method={method}"
    record = {
        "key": key,
        "config": {"dataset": dataset, "method": method},
        "metrics": {"within": within, "transfer": transfer},
        "seconds": 1.0,
    }
    (runs / f"{key}.json").write_text(json.dumps(record))


def test_seeds_report_compares_means_with_the_best_beta_per_score(script, tmp_path):
    variants = tmp_path / "variants"
    # the defaults, seeds 0-2: a means 0.70 / 0.60, b means 0.50 / 0.50
    for folder, (wa, ta), (wb, tb) in (
        (tmp_path, (0.6, 0.5), (0.5, 0.4)),
        (variants / "seed1", (0.7, 0.6), (0.5, 0.5)),
        (variants / "seed2", (0.8, 0.7), (0.5, 0.6)),
    ):
        _run(folder, "a", wa, ta)
        _run(folder, "b", wb, tb)
    _run(tmp_path, "a", 0.99, 0.99, method="raw")  # another method: not the defaults
    refs = [  # reference: a's best within at beta 1 (0.71), best transfer at 10 (0.61)
        ("a", 1.0, 0, 0.70, 0.50), ("a", 1.0, 1, 0.72, 0.40),
        ("a", 10.0, 0, 0.60, 0.60), ("a", 10.0, 1, 0.60, 0.62),
        ("b", 1.0, 0, 0.56, 0.50), ("b", 1.0, 1, 0.54, 0.50),  # within 0.55: missed
        ("c", 1.0, 0, 0.9, 0.9), ("c", 1.0, 1, 0.9, 0.9),  # no defaults run: left out
        ("a", 1.0, 2, 0.0, 0.0),  # another switch: not the reference
    ]  # fmt: skip
    lines = [
        {"dataset": d, "beta": b, "seed": s, "switch": "base" if k < 8 else "softplus",
         "within": w, "transfer": t}
        for k, (d, b, s, w, t) in enumerate(refs)
    ]  # fmt: skip
    (variants / "reference_switches.jsonl").write_text(
        "\n".join(json.dumps(line) for line in lines) + "\n"
    )
    script._seed_report(variants)
    targets = pd.read_csv(variants / "seeds_targets.csv", index_col="dataset")
    assert list(targets.index) == ["a", "b"]
    assert targets.loc["a", "ref_within"] == pytest.approx(0.71)
    assert targets.loc["a", "ref_transfer"] == pytest.approx(0.61)
    assert targets.loc["a", "within"] == pytest.approx(0.70)
    assert targets.loc["a", "transfer"] == pytest.approx(0.60)
    assert targets.loc["a", "seeds"] == 3
    assert targets.loc["a", "target"] == "met"  # 0.70 >= 0.69, 0.60 >= 0.59
    assert targets.loc["b", "target"] == "missed"  # within 0.50 < 0.55 - 0.02
    per_beta = pd.read_csv(variants / "seeds.csv")
    assert len(per_beta) == 3 and set(per_beta.ref_seeds) == {2}


def test_link_report_leaves_each_dataset_out_among_the_link_options(script, tmp_path):
    variants = tmp_path / "variants"
    # (within, transfer) per dataset and option; d has no "auto" run: left out
    runs = {
        "softplus": {"a": (0.6, 0.6), "b": (0.6, 0.6), "c": (0.75, 0.75), "d": (0.1, 0.1)},
        "auto": {"a": (0.8, 0.6), "b": (0.45, 0.45), "c": (0.9, 0.7)},
    }
    folders = {"softplus": "..", "auto": "link-auto"}
    for option, datasets in runs.items():
        name = folders[option]
        for dataset, (w, t) in datasets.items():
            _run(tmp_path if name == ".." else variants / name, dataset, w, t)
    script._link_report(variants, folders)
    table = pd.read_csv(variants / "link.csv", index_col="dataset")
    assert table.index.tolist() == ["a", "b", "c"]
    assert table.loc["a", "auto"] == pytest.approx(0.7)
    assert table.loc["b", "softplus"] == pytest.approx(0.6)
    # a left out: b and c give auto 0.625 against softplus 0.675 -> softplus, 0.6 on a;
    # b left out: a and c, 0.75 against 0.675 -> auto, 0.45 on b; c: 0.575 against 0.6
    assert table["left out: chosen"].tolist() == ["softplus", "auto", "softplus"]
    assert table["left out: quality"].tolist() == pytest.approx([0.6, 0.45, 0.75])
