"""The datasets suite: its pipeline on the quick setting, its targets and its choices."""

import json

import numpy as np
import pandas as pd
import pytest

from neuromix.benchmarks.alignment.baselines import SubjectData
from neuromix.benchmarks.alignment.scoring import score
from neuromix.benchmarks.suite import SUITE, get_setting, run_suite
from neuromix.benchmarks.suite.datasets import DRAW_SEED, draw_task, make_dataset
from neuromix.benchmarks.suite.reference import minimal_mmvm
from neuromix.benchmarks.suite.report import leave_one_out, targets


def test_the_suite_spans_what_recordings_differ_in():
    tasks = [d for d in SUITE if d.kind == "task"]
    assert len(tasks) >= 10 and len(SUITE) >= 15
    assert {d.params["latent"] for d in tasks} == {"trajectory", "fixed_points", "rotation"}
    subjects = [d.params["n_subjects"] for d in tasks]
    assert min(subjects) == 2 and max(subjects) == 20
    conditions = [d.params.get("n_conditions", 4) for d in tasks]
    assert min(conditions) == 2 and max(conditions) == 8
    assert any(d.params.get("dispersion", 0) > 0 for d in tasks)
    assert any(d.params.get("weak", 0) for d in tasks)
    assert sum(d.kind == "rats" for d in SUITE) == 3
    assert len({d.params["seed"] for d in tasks}) == len(tasks)


@pytest.mark.slow
def test_quick_suite_runs_resumes_and_reports(tmp_path):
    methods = ("mmvm", "mmvm-previous", "reference-b1", "raw", "srm")
    fit = {"epochs": 3, "beta": [1.0, 4.0]}  # a selection whatever the default beta
    table = run_suite(tmp_path, "quick", progress=False, methods=methods, fit_params=fit)
    assert set(table["method"]) == set(methods)
    assert len(table) == len(methods) * 3
    report = (tmp_path / "suite.md").read_text()
    for heading in ("## Decoding", "## Targets", "## beta='auto' against fixed beta", "## Leave"):
        assert heading in report
    candidates = pd.read_csv(tmp_path / "candidates.csv")
    assert set(candidates["dataset"]) == {"few-trials", "rats-0", "multiview"}
    assert candidates.groupby("dataset")["chosen"].sum().eq(1).all()
    runs = sorted((tmp_path / "runs").glob("*.json"))
    stamps = [p.stat().st_mtime_ns for p in runs]
    again = run_suite(tmp_path, "quick", progress=False, methods=methods, fit_params=fit)
    assert [p.stat().st_mtime_ns for p in runs] == stamps
    assert len(again) == len(table)
    record = json.loads(runs[0].read_text())
    assert 0.0 <= record["metrics"]["within"] <= 1.0


def test_draws_span_the_suites_ranges_and_are_fixed_by_their_number():
    drawn = [draw_task(d) for d in range(200)]
    assert [d.params["seed"] for d in drawn] == [DRAW_SEED + d for d in range(200)]
    assert draw_task(7) == drawn[7]  # the same draw every time
    suite_seeds = {d.params["seed"] for d in SUITE}
    assert not suite_seeds & {d.params["seed"] for d in drawn}
    for d in drawn:
        p = d.params
        assert 2 <= p["n_subjects"] <= 6 and 2 <= p["n_conditions"] <= 8
        low, high = p["trials"]
        assert 12 <= low < high <= 150 and low * p["n_conditions"] <= 400 + p["n_conditions"]
        assert 20 <= p["n_units"][0] <= p["n_units"][1] <= 625
        assert 0.5 <= p["rate"][0] <= p["rate"][1] <= 60.0
        assert p["dispersion"] == 0 or 0.2 <= p["dispersion"] <= 0.8
        assert 2 <= p["latent_dim"] <= 4 and 1.0 <= p["signal"] <= 3.0
        assert p["weak"] in (0, 1) and (p["n_subjects"] >= 3 or not p["weak"])
        # the generator's own constraint: every response ends within the trial
        assert p["latency"][1] + p["duration"][1] <= p["trial_length"]
        assert d.window_span in (0.3, 0.4, 0.5)
        assert p["latency"][1] + d.window_span <= p["trial_length"]
    for key, values in (
        ("nonlinearity", {"exp", "softplus", "sigmoid"}),
        ("latent", {"trajectory", "fixed_points", "rotation"}),
    ):
        assert {d.params[key] for d in drawn} == values
    assert 0.3 < np.mean([d.params["dispersion"] > 0 for d in drawn]) < 0.7


def test_a_draw_makes_recordings_and_their_fit_parameters():
    dataset = draw_task(3)
    small = {"n_units": 6, "trials": (3, 4), "n_subjects": 2, "n_conditions": 2}
    recordings, params = make_dataset(dataset, small)
    assert len(recordings) == 2
    assert set(params) == {"subject_dim", "label", "start", "stop"}
    for s in params["start"]:
        assert params["stop"][s] == pytest.approx(params["start"][s] + dataset.window_span)


def _row(dataset, method, within, transfer, margin=np.nan):
    return {"dataset": dataset, "method": method, "within": within, "transfer": transfer,
            "worst_margin": margin}  # fmt: skip


def test_targets_compare_what_the_issue_names():
    rows = [
        _row("rats-0", "mmvm", 0.70, 0.69, 0.30),
        _row("rats-0", "reference-b1", 0.71, 0.60),
        _row("rats-0", "reference-b10", 0.69, 0.70),
        _row("rats-0", "raw", 0.75, np.nan),
        _row("rats-0", "srm", 0.65, 0.66),
        _row("rats-0", "mmvm-previous", 0.60, 0.50),
        _row("few-trials", "mmvm", 0.80, 0.70, 0.05),
        _row("few-trials", "reference-b1", 0.79, 0.75),
        _row("few-trials", "raw", 0.81, np.nan),
        _row("few-trials", "procrustes", 0.70, 0.71),
        _row("few-trials", "mmvm-previous", 0.83, 0.70),
    ]
    tg = targets(pd.DataFrame(rows)).set_index("dataset")
    rats, few = tg.loc["rats-0"], tg.loc["few-trials"]
    assert rats["vs reference"]  # 0.70 >= 0.71 - 0.02 and 0.69 >= 0.70 - 0.02
    assert rats["transfer >= 0.95 within"] and rats["vs aligners"]
    assert not rats["vs raw"]  # 0.70 < 0.75 - 0.02
    assert rats["pairs above chance + 0.10"] and rats["vs previous"] and rats["rats >= 0.68"]
    assert not few["vs reference"]  # transfer 0.70 < 0.75 - 0.02
    assert not few["transfer >= 0.95 within"]  # 0.70 < 0.76
    assert not few["vs aligners"]  # 0.70 < 0.71
    assert few["vs raw"] and not few["pairs above chance + 0.10"]
    assert not few["vs previous"]  # within 0.80 < 0.83 - 0.02
    assert pd.isna(few.get("rats >= 0.68", np.nan))


def test_leave_one_out_chooses_on_the_others_only():
    # option "y" is best on a and b; on c "x" is far better. Leaving c out, y is chosen
    # and scored on c; leaving a out, the mean over b and c decides.
    opts = pd.DataFrame(
        {
            "dataset": ["a", "a", "b", "b", "c", "c"],
            "option": ["x", "y"] * 3,
            "within": [0.6, 0.7, 0.6, 0.7, 0.9, 0.2],
            "transfer": [0.6, 0.7, 0.6, 0.7, 0.9, 0.2],
        }
    )
    loo = leave_one_out(opts).set_index("left_out")
    assert loo.loc["c", "chosen"] == "y" and loo.loc["c", "within"] == pytest.approx(0.2)
    assert loo.loc["c", "best_in_hindsight"] == "x"
    assert loo.loc["a", "chosen"] == "x"  # mean over b, c: x 0.75, y 0.45
    assert loo.loc["b", "chosen"] == "x"


def test_minimal_reference_aligns_easy_paired_views():
    from neuromix.datasets import make_multiview

    views, truth = make_multiview(n_samples=600, seed=0)
    labels = truth["labels"]
    test = np.arange(600) % 5 == 0
    data = {
        s: SubjectData(X=x, labels=labels, trials=np.arange(600), window=np.zeros(600, int),
                       test=test)
        for s, x in views.items()
    }  # fmt: skip
    latents, info = minimal_mmvm(data, 2, beta=1.0, epochs=40, draws=60, likelihood="gaussian")
    metrics = score(latents, data, n_boot=1, n_shuffles=0)
    assert metrics["within"] > metrics["chance"] + 0.3
    assert metrics["transfer"] > metrics["chance"] + 0.2
    assert info["fit_seconds"] > 0


def _poisson_views(n=400, seed=0):
    """Two subjects' Poisson counts of a two-class latent (rows are trials of one window)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(2, size=n)
    z = np.where(labels[:, None] == 1, 1.0, -1.0) + 0.3 * rng.standard_normal((n, 2))
    test = np.arange(n) % 5 == 0
    data = {}
    for s, units in (("A", 20), ("B", 30)):
        rates = np.exp(0.5 + z @ rng.standard_normal((2, units)) * 0.8)
        data[s] = SubjectData(
            X=rng.poisson(rates).astype(np.float32), labels=labels, trials=np.arange(n),
            window=np.zeros(n, int), test=test,
        )  # fmt: skip
    return data


def test_minimal_reference_with_the_package_switches_still_learns():
    data = _poisson_views()
    latents, _ = minimal_mmvm(
        data, 2, beta=1.0, epochs=15, draws="max", link="softplus", logvar="soft"
    )
    metrics = score(latents, data, n_boot=1, n_shuffles=0)
    assert metrics["within"] > metrics["chance"] + 0.3
    assert metrics["transfer"] > metrics["chance"] + 0.3


@pytest.mark.parametrize(
    "switch", [{"link": "log"}, {"logvar": "none"}, {"draws": 0}, {"draws": "all"}]
)
def test_minimal_reference_refuses_unknown_switches(switch):
    with pytest.raises(ValueError, match=repr(next(iter(switch.values())))):
        minimal_mmvm(_poisson_views(n=20), 2, epochs=1, **switch)


def test_quick_setting_is_small():
    s = get_setting("quick")
    assert s.fit_params == {"epochs": 3} and len(s.datasets) == 3


def test_mopoe_is_left_out_of_datasets_with_too_many_subjects_and_the_report_says_why():
    full = get_setting("full")
    assert full.n_subjects("many-subjects") == 20 and full.n_subjects("rats-0") == 5
    assert full.n_subjects("multiview") == 3  # make_multiview's three default views
    assert get_setting("quick").n_subjects("rats-0") == 3  # its data_params name three rats
    skipped = full.skipped()
    assert list(skipped) == [("many-subjects", "mopoe")]
    assert "1,048,575 subset posteriors" in skipped["many-subjects", "mopoe"]  # 2^20 - 1
    grid = {(c["dataset"], c["method"]) for c in full.grid()}
    assert ("many-subjects", "mopoe") not in grid and ("many-subjects", "moe") in grid
    assert ("eight-conditions", "mopoe") in grid  # 6 subjects: run
    assert len(grid) == len(full.datasets) * len(full.methods) - 1
