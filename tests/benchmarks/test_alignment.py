"""The alignment benchmark: a quick run end to end, resume, and the peers on data with
known answers."""

import json
from contextlib import nullcontext

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ortho_group

import neuromix as nm
import neuromix.benchmarks.alignment.runners as runners
from neuromix.benchmarks.alignment import METHODS, get_setting, run_benchmark
from neuromix.benchmarks.alignment.baselines import (
    SubjectData,
    pca_procrustes,
    shared_response_model,
)
from neuromix.benchmarks.alignment.report import check_targets
from neuromix.benchmarks.alignment.scoring import joint_bootstrap, score, seed_interval

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FILES = (
    "alignment.md",
    "table.csv",
    "summary.csv",
    "summary.png",
    "transfer_rats.png",
    "setting.json",
)


def _fail(*args, **kwargs):
    raise AssertionError("a finished run was fitted again")


def test_quick_run_end_to_end_and_resume(tmp_path, monkeypatch):
    out = tmp_path / "bench"
    missing = runners.cebra_available()
    with pytest.warns(UserWarning, match="CEBRA is skipped") if missing else nullcontext():
        table = run_benchmark(out, "quick", progress=False)
    methods = [m for m in METHODS if m != "cebra" or missing is None]
    assert len(table) == 2 * len(methods)
    assert set(table.method) == set(methods) and set(table.dataset) == {"rats", "multiview"}
    for name in FILES:
        assert (out / name).stat().st_size > 0, name
    assert len(list((out / "runs").glob("*.json"))) == len(table)
    flat = pd.read_csv(out / "table.csv")
    for column in ("within", "chance"):
        assert flat[column].between(0, 1).all()
        assert (flat[f"{column}_low"] <= flat[column] + 1e-12).all()
        assert (flat[column] <= flat[f"{column}_high"] + 1e-12).all()
    aligned = flat[flat.method != "raw"]
    assert aligned.transfer.between(0, 1).all()
    assert flat[flat.method == "raw"].transfer.isna().all()  # within subjects only
    # every method of a (dataset, seed) saw the same held-out trials
    assert (flat.groupby(["dataset", "seed"]).split.nunique() == 1).all()
    assert (aligned.latent_dim == nm.NeuralModel().latent_dim).all()
    report = (out / "alignment.md").read_text()
    assert "## Targets of the issue" in report
    assert report.count("mmvm-pairwise |") >= 4 and ("**met**" in report or "**missed**" in report)
    record = json.loads(next((out / "runs").glob("dataset=rats*method=avg.json")).read_text())
    assert record["metrics"]["params"]["rate_scale"] == "subjects"
    assert record["metrics"]["params"]["epochs"] == 2
    mmvm = json.loads(next((out / "runs").glob("dataset=rats*mmvm-mc.json")).read_text())
    assert mmvm["metrics"]["params"]["method_params"]["estimator"] == "mc"
    assert mmvm["metrics"]["fit_seconds"] > 0
    # cross-subject prediction of the rats, for the VAEs only
    rats = flat[flat.dataset == "rats"].set_index("method")
    vaes = [m for m in methods if m in runners.VAE_METHODS]
    assert rats.loc[vaes, "bits_per_spike"].notna().all()
    assert rats.drop(index=vaes)["bits_per_spike"].isna().all()
    assert "## Cross-subject prediction (simulated rats)" in report

    # rerun: nothing is fitted again, not even the data
    for target, name in [
        (nm, "fit"),
        (nm.estimators, "fit"),
        (nm.MultimodalVAE, "fit"),
        (runners, "prepare_data"),
        (runners, "cebra_latents"),
        (runners, "pca_procrustes"),
        (runners, "shared_response_model"),
    ]:
        monkeypatch.setattr(target, name, _fail)
    with pytest.warns(UserWarning) if missing else nullcontext():
        again = run_benchmark(out, "quick", progress=False)
    pd.testing.assert_frame_equal(again[["method", "within"]], table[["method", "within"]])
    # report only: a lost run is named in the report, not refitted
    lost = next((out / "runs").glob("dataset=rats*method=avg.json"))
    lost.unlink()
    with pytest.warns(UserWarning) if missing else nullcontext():
        partial = run_benchmark(out, "quick", progress=False, report_only=True)
    assert len(partial) == len(table) - 1 and not lost.exists()
    assert (
        "missing and not in the tables: avg on rats seed 0" in (out / "alignment.md").read_text()
    )
    monkeypatch.undo()

    # another setting in the same folder is refused before any work
    with pytest.raises(ValueError, match="holds runs of another setting"):
        run_benchmark(out, "quick", epochs=3, progress=False)


def test_without_cebra_it_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(runners, "cebra_available", lambda: "ImportError: no cebra here")
    with pytest.warns(UserWarning, match="CEBRA is skipped"):
        table = run_benchmark(
            tmp_path, "quick", datasets=("multiview",), methods=("cebra", "srm"), progress=False
        )
    assert table.method.tolist() == ["srm"]
    report = (tmp_path / "alignment.md").read_text()
    assert "CEBRA was skipped: `import cebra` failed (ImportError: no cebra here)" in report


def test_setting_errors():
    with pytest.raises(ValueError, match="unknown methods"):
        get_setting("quick", methods=("mmvm",))
    with pytest.raises(ValueError, match="unknown datasets"):
        get_setting("quick", datasets=("mnist",))
    with pytest.raises(ValueError, match="set by the benchmark itself"):
        get_setting("quick", fit_params={"seed": 3})
    assert get_setting("full").cebra_iterations == 3000


def test_windows_are_the_rows_of_the_latents():
    rec = nm.datasets.simulate_odor_sequence(
        seed=1, subjects=("Barat", "Mitt"), n_trials=30, n_units={"Barat": 5, "Mitt": 3}
    )
    model = nm.fit(rec, subject_dim="rat", method="independent", epochs=1, progress=False)
    windows, latents = model.windows(), model.latents()
    assert windows.dims == ("sample", "feature") and windows.sizes["feature"] == 5 * 10
    assert (windows.indexes["sample"] == latents.indexes["sample"]).all()
    assert (windows["split"].values == latents["split"].values).all()
    mitt = windows.sel(rat="Mitt")
    assert np.isnan(mitt.values[:, 30:]).all()  # padded: Mitt has 3 units x 10 bins
    np.testing.assert_array_equal(mitt.values[:, :30], model._all_windows(1).numpy())


def _subjects(rotate=True, seed=0, n_trials=60, n_windows=4, features=8):
    """Two subjects whose windows are an exact orthogonal rotation of each other."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(rng.integers(3, size=n_trials), n_windows)
    trials = np.repeat(np.arange(n_trials), n_windows)
    window = np.tile(np.arange(n_windows), n_trials)
    angles = 2 * np.pi * np.arange(3) / 3
    centres = 3 * np.c_[np.cos(angles), np.sin(angles)][:, None] + 0.3 * rng.normal(
        size=(3, n_windows, 2)
    )
    z = centres[labels, window] + 0.5 * rng.normal(size=(len(labels), 2))
    X = z @ rng.normal(size=(2, features)) + 0.3 * rng.normal(size=(len(labels), features))
    test = np.isin(trials, rng.choice(n_trials, n_trials // 4, replace=False))
    q = ortho_group.rvs(features, random_state=seed) if rotate else np.eye(features)
    return {
        "a": SubjectData(X, labels, trials, window, test),
        "b": SubjectData(X @ q, labels, trials, window, test),
    }


@pytest.mark.parametrize("align", [pca_procrustes, shared_response_model])
def test_classical_alignment_undoes_a_rotation(align):
    data = _subjects()
    latents, info = align(data, 2)
    assert info["cells"] == 3 * 4
    np.testing.assert_allclose(latents["a"], latents["b"], atol=1e-6)
    result = score(latents, data, n_boot=200, n_shuffles=1)
    assert result["within"] > 0.8
    assert abs(result["transfer"] - result["within"]) < 1e-9
    # the check has teeth: a leftover reflection (axes swapped) breaks transfer
    plain = {
        s: latents[s] @ np.array([[0, 1], [1, 0.0]]) if s == "b" else latents[s] for s in latents
    }
    assert score(plain, data, n_boot=200, n_shuffles=1)["transfer"] < result["transfer"] - 0.2


def test_srm_converges_and_explains_the_cell_means():
    data = _subjects(rotate=True, features=5)
    _, info = shared_response_model(data, 2)
    assert 0 < info["loss"] < 0.2  # the 2 shared dims explain most of the cell means
    assert 2 <= info["iterations"] < 100  # stopped when the loss stopped falling


def test_raw_decoder_is_near_one_on_separable_data():
    rng = np.random.default_rng(0)
    labels = np.repeat(rng.integers(2, size=80), 3)
    trials = np.repeat(np.arange(80), 3)
    data = {}
    for s, d in (("a", 12), ("b", 7)):  # sizes differ: within subjects only
        X = 4.0 * labels[:, None] * rng.normal(size=(1, d)) + rng.normal(size=(len(labels), d))
        data[s] = SubjectData(X, labels, trials, np.zeros(len(labels), int), trials >= 60)
    result = score({s: d.X for s, d in data.items()}, data, within_only=True, n_boot=200)
    assert result["within"] > 0.95
    assert np.isnan(result["transfer"]) and np.isnan(result["transfer_ci"][0])


def test_interval_of_the_mean_is_narrower_than_the_subjects():
    rng = np.random.default_rng(0)
    groups = {s: np.repeat(np.arange(40), 5) for s in "abcd"}
    right = {s: np.repeat(rng.random(40) < 0.7, 5) for s in "abcd"}
    correct = {(s, s): right[s] for s in "abcd"}
    joint = joint_bootstrap(correct, groups, right, n_boot=1000)
    each = [joint_bootstrap({(s, s): right[s]}, {s: groups[s]}, right)["within"] for s in "abcd"]
    width = joint["within"][1] - joint["within"][0]
    assert width < 0.7 * np.mean([high - low for low, high in each])
    low, high = seed_interval([0.5, 0.5, 0.5])
    assert low == high == 0.5
    assert np.isnan(seed_interval([0.5])[0])


def _row(method, seed, within, transfer, matrix=None):
    matrix = matrix if matrix is not None else [[within, transfer], [transfer, within]]
    return {
        "dataset": "rats",
        "seed": seed,
        "method": method,
        "within": within,
        "transfer": transfer,
        "subjects": ["a", "b"],
        "transfer_matrix": matrix,
        "chance_per_subject": [0.2, 0.2],
    }


def test_targets_are_checked():
    rows = [_row("mmvm-pairwise", s, 0.70, 0.68) for s in (0, 1, 2)]
    rows += [_row("raw", s, 0.72, np.nan) for s in (0, 1, 2)]
    rows += [_row("cebra", s, 0.62, 0.60) for s in (0, 1, 2)]
    rows += [_row("mmvm-mc", s, 0.70, 0.40, [[0.7, 0.25], [0.55, 0.7]]) for s in (0, 1)]
    status = {(t["method"], t["target"]): t["status"] for t in check_targets(pd.DataFrame(rows))}
    assert status == {
        ("mmvm-pairwise", "transfer >= 0.95 x within"): "met",
        ("mmvm-pairwise", "no ordered pair below chance + 0.10"): "met",
        ("mmvm-pairwise", "within >= raw decoder - 0.03"): "met",
        ("mmvm-pairwise", "transfer > CEBRA transfer"): "met",
        ("mmvm-mc", "transfer >= 0.95 x within"): "missed",
        ("mmvm-mc", "no ordered pair below chance + 0.10"): "missed",
        ("mmvm-mc", "within >= raw decoder - 0.03"): "met",
        ("mmvm-mc", "transfer > CEBRA transfer"): "missed",
    }
    no_peers = check_targets(pd.DataFrame(rows[:3]))
    assert [t["status"] for t in no_peers][-2:] == ["not checked", "not checked"]
