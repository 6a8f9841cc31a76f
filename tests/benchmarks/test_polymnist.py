"""The translated PolyMNIST benchmark: settings, a tiny end-to-end run, resume, analysis."""

import json
from contextlib import nullcontext as does_not_raise

import numpy as np
import pandas as pd
import pytest
import torch

from neuromix.benchmarks.polymnist import (
    METHODS,
    PAPER_BETAS,
    SETTINGS,
    PolyMNISTSetting,
    get_setting,
    matched_comparison,
    run_benchmark,
)
from neuromix.datasets import translated_polymnist

# Even tinier than "quick": two methods, two betas, 24 tuples, untrained-size networks.
TINY = {
    "n_train": 24,
    "n_test": 20,
    "methods": ("avg", "mmvm"),
    "betas": (0.5, 2.0),
    "epochs": 1,
    "batch_size": 12,
    "latent_dim": 4,
    "classifier_n": 40,
    "classifier_epochs": 1,
    "max_train": 24,
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_paper_setting_is_the_papers():
    paper = SETTINGS["paper"]
    assert paper.n_modalities == 3
    assert paper.betas == tuple(2.0**k for k in range(-8, 4)) == PAPER_BETAS
    assert paper.seeds == (0, 1, 2, 3, 4)
    assert (paper.epochs, paper.batch_size, paper.lr) == (500, 256, 5e-4)
    assert (paper.likelihood, paper.likelihood_scale) == ("laplace", 0.75)
    assert (paper.digit_scale, paper.architecture) == (0.75, "image")  # translated, ResNets
    assert paper.methods == METHODS
    assert len(paper.grid()) == 6 * 12 * 5
    assert paper.n_test is None and paper.max_train == 10_000
    # beta as the authors' code applies it: the joint KL counted once per modality
    assert paper.rate_scale == SETTINGS["cpu"].rate_scale == "subjects"
    assert paper.vae_options()["rate_scale"] == "subjects"


@pytest.mark.parametrize("name", ["quick", "cpu", "cpu-translated"])
def test_smaller_settings_keep_the_methods_and_the_data(name):
    setting = SETTINGS[name]
    assert setting.methods == METHODS and setting.n_modalities == 3
    assert setting.cuts  # the report says what is cut
    assert len(setting.betas) >= 2


def test_the_cpu_setting_is_a_grid_with_error_bars():
    # all six methods, >= 4 betas of the paper's grid, >= 3 seeds (seed error bars and a
    # paired comparison over seeds); untranslated digits; the translated one kept apart
    setting = SETTINGS["cpu"]
    assert len(setting.betas) >= 4 and set(setting.betas) <= set(PAPER_BETAS)
    assert len(setting.seeds) >= 3 and len(setting.grid()) >= 72
    assert setting.digit_scale == 1.0 and SETTINGS["cpu-translated"].digit_scale == 0.75
    # (whether a run learned the digit, or is under-trained, the report says from its
    # numbers: test_polymnist_figures.py)


def test_grid_covers_every_method_beta_and_seed_once():
    setting = get_setting("quick", seeds=(0, 1))
    grid = setting.grid()
    assert len(grid) == len({tuple(c.values()) for c in grid}) == 6 * 2 * 2
    assert grid[0] == {"method": "independent", "beta": 0.25, "seed": 0}
    # the methods of a unimodal VAE's cost first, every seed, then MoE, then MoPoE
    order = [(c["method"], c["seed"]) for c in grid]
    assert order[:16] == [
        (m, s) for s in (0, 1) for m in ("independent", "avg", "poe", "mmvm") for _ in (0, 1)
    ]
    assert [m for m, _ in order[16:]] == ["moe"] * 4 + ["mopoe"] * 4


def test_method_params():
    setting = SETTINGS["paper"]
    assert setting.method_params("mmvm") == {"alpha": 1.0, "anneal_epochs": 110}
    assert setting.method_params("poe") == {"prior_expert": False}
    assert setting.method_params("avg") is None


@pytest.mark.parametrize(
    ("setting", "overrides", "expectation"),
    [
        ("cpu", {}, does_not_raise()),
        ("quick", {"epochs": 2, "methods": ["mmvm", "avg"]}, does_not_raise()),
        ("gpu", {}, pytest.raises(ValueError, match="unknown setting 'gpu'; choose from")),
        (3, {}, pytest.raises(ValueError, match="unknown setting 3")),
        (
            "cpu",
            {"epoch": 2},
            pytest.raises(ValueError, match=r"unknown setting fields \['epoch'\]"),
        ),
        ("cpu", {"methods": ("mmvm", "vamp")}, pytest.raises(ValueError, match="unknown methods")),
        ("cpu", {"methods": ()}, pytest.raises(ValueError, match="distinct and not empty")),
        ("cpu", {"methods": ("avg", "avg")}, pytest.raises(ValueError, match="distinct")),
        ("cpu", {"betas": (1.0, -1.0)}, pytest.raises(ValueError, match="positive numbers")),
        ("cpu", {"betas": (1.0, 1)}, pytest.raises(ValueError, match="betas must be distinct")),
        ("cpu", {"betas": ()}, pytest.raises(ValueError, match="betas must be positive")),
        ("cpu", {"seeds": (-1,)}, pytest.raises(ValueError, match="seeds must be non-negative")),
        ("cpu", {"seeds": (0, 0)}, pytest.raises(ValueError, match="seeds must be distinct")),
        ("cpu", {"n_modalities": 1}, pytest.raises(ValueError, match="n_modalities must be")),
        ("cpu", {"rate_scale": "all"}, pytest.raises(ValueError, match="rate_scale must be")),
        ("cpu", {"n_train": 5}, pytest.raises(ValueError, match="n_train must be None or")),
        ("cpu", {"n_test": 2.5}, pytest.raises(ValueError, match="n_test must be None or")),
        ("cpu", {"epochs": 0}, pytest.raises(ValueError, match="epochs must be a positive")),
        ("cpu", {"batch_size": True}, pytest.raises(ValueError, match="batch_size must be")),
        ("cpu", {"lr": 0}, pytest.raises(ValueError, match="lr must be > 0")),
        ("cpu", {"likelihood_scale": -1}, pytest.raises(ValueError, match="likelihood_scale")),
        ("cpu", {"digit_scale": 1.5}, pytest.raises(ValueError, match="digit_scale must lie")),
        ("cpu", {"architecture": "mlp"}, pytest.raises(ValueError, match="architecture must")),
        ("cpu", {"likelihood": "poisson"}, pytest.raises(ValueError, match="likelihood must")),
        ("cpu", {"mmvm_alpha": 2.0}, pytest.raises(ValueError, match="mmvm_alpha must lie")),
        ("cpu", {"mmvm_anneal_epochs": -1}, pytest.raises(ValueError, match="mmvm_anneal")),
        ("cpu", {"max_train": 3}, pytest.raises(ValueError, match="max_train must be")),
        ("cpu", {"classifier_n": 0}, pytest.raises(ValueError, match="classifier_n must be")),
    ],
)
def test_setting_errors(setting, overrides, expectation):
    with expectation:
        get_setting(setting, **overrides)


def test_tiny_benchmark_end_to_end_and_resume(tmp_path, monkeypatch):
    table = run_benchmark(tmp_path, "quick", progress=False, device="cpu", **TINY)
    assert len(table) == 4
    assert set(table["method"]) == {"avg", "mmvm"} and set(table["beta"]) == {0.5, 2.0}
    for column in ("accuracy", "coherence", "recon", "recon_self", "fit_seconds"):
        assert table[column].notna().all()
    assert table["accuracy"].between(0, 1).all() and table["coherence"].between(0, 1).all()
    reference = json.loads((tmp_path / "pixel_reference.json").read_text())
    assert set(reference["accuracy"]) == {"m0", "m1", "m2"}
    assert 0 <= reference["mean_accuracy"] <= 1
    for name in ("table.csv", "figure2.png", "figure7.png", "polymnist.md", "setting.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert len(list((tmp_path / "runs").glob("*.json"))) == 4
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "table.csv"), table, check_dtype=False)
    report = (tmp_path / "polymnist.md").read_text()
    for text in (
        "figure2.png",
        "Coherence classifiers",
        "matched reconstruction",
        "paper's full",
        "Reading these numbers",
        "principal components of the raw pixels",
    ):
        assert text in report
    clf = json.loads((tmp_path / "classifiers" / "summary.json").read_text())
    assert set(clf["accuracy"]) == {"m0", "m1", "m2"}
    # Figure 6: every modality generated from every other, per fit
    pictures = sorted((tmp_path / "generations").glob("*.npz"))
    assert pictures[0].name == "avg-beta0.5-seed0.npz" and len(pictures) == 4
    with np.load(pictures[0]) as saved:
        assert saved["generated"].shape == (3, 3, 8, 3, 28, 28)
        assert saved["modalities"].tolist() == ["m0", "m1", "m2"]
        X_test, y_test = translated_polymnist("test", 3, seed=0, n=TINY["n_test"])
        np.testing.assert_allclose(saved["sources"][1], X_test["m1"][:8], atol=1e-3)
        np.testing.assert_array_equal(saved["labels"], y_test[:8])

    # resume: nothing is refitted, the classifiers are read back
    from neuromix.estimators import MultimodalVAE

    def refuse(*args, **kwargs):
        raise AssertionError("a finished fit was redone")

    monkeypatch.setattr(MultimodalVAE, "fit", refuse)
    monkeypatch.setattr("neuromix.evaluation.images.ImageClassifier.fit", refuse)
    again = run_benchmark(tmp_path, "quick", progress=False, device="cpu", **TINY)
    pd.testing.assert_frame_equal(again, table)

    # report_only: a partial grid is reported as such, and nothing is trained
    (tmp_path / "runs" / "method=mmvm__beta=2.0__seed=0.json").unlink()
    part = run_benchmark(tmp_path, "quick", progress=False, report_only=True, **TINY)
    pd.testing.assert_frame_equal(part, table.iloc[:3])
    assert "3 of 4 fits done" in (tmp_path / "polymnist.md").read_text()
    with pytest.raises(ValueError, match="holds no run of a PolyMNIST benchmark"):
        run_benchmark(tmp_path / "empty", "quick", report_only=True, **TINY)


def test_fits_in_two_processes_equal_fits_in_one(tmp_path):
    # each process takes the next missing fit; the fits do not depend on which process
    # trained them (seeded; one torch thread each, as in the reference run)
    one = run_benchmark(tmp_path / "one", "quick", progress=False, device="cpu", **TINY)
    two = run_benchmark(tmp_path / "two", "quick", progress=False, device="cpu", jobs=2, **TINY)
    assert len(list((tmp_path / "two" / "runs").glob("*.json"))) == len(one) == 4
    assert (tmp_path / "two" / "polymnist.md").exists()
    numbers = ["accuracy", "coherence", "recon", "recon_self", "train_loss"]
    pd.testing.assert_frame_equal(two[numbers], one[numbers], rtol=1e-4)
    # each fit records its threads: the process's own, or its share with jobs=2
    threads = torch.get_num_threads()
    assert (one["torch_threads"] == threads).all()
    assert (two["torch_threads"] == max(1, threads // 2)).all()
    assert (
        f"(torch threads per fit: {max(1, threads // 2)})"
        in (tmp_path / "two" / "polymnist.md").read_text()
    )
    with pytest.raises(ValueError, match="jobs must be a positive integer, got 0"):
        run_benchmark(tmp_path / "two", "quick", progress=False, jobs=0, **TINY)


def test_a_folder_of_another_setting_is_refused(tmp_path):
    (tmp_path / "setting.json").write_text(
        json.dumps(get_setting("quick", **{**TINY, "epochs": 3}).to_dict())
    )
    with pytest.raises(ValueError, match=r"holds runs of another setting .*epochs"):
        run_benchmark(tmp_path, "quick", progress=False, **TINY)


def test_matched_comparison():
    table = pd.DataFrame(
        {
            "method": ["mmvm"] * 3 + ["poe"] * 3,
            "beta": [0.5, 1.0, 2.0] * 2,
            "seed": [0] * 6,
            "recon": [10.0, 12.0, 14.0, 11.0, 13.0, 20.0],
            "accuracy": [0.5, 0.7, 0.9, 0.5, 0.9, 0.95],
        }
    )
    cmp = matched_comparison(table)
    assert cmp["method"].tolist() == ["poe"] * 3
    assert cmp["reference_y"].tolist()[:2] == pytest.approx([0.6, 0.8])
    assert cmp["difference"].tolist()[:2] == pytest.approx([0.1, -0.1])
    assert pd.isna(cmp["reference_y"].iloc[2])  # recon 20 is outside MMVM's range
    assert cmp["dominated"].tolist() == [True, False, False]
    assert cmp["dominates"].tolist() == [False, True, False]  # (13, 0.9) beats (14, 0.9)
    # seeds are averaged before comparing
    two_seeds = pd.concat([table, table.assign(seed=1)])
    pd.testing.assert_frame_equal(matched_comparison(two_seeds), cmp)
    with pytest.raises(ValueError, match="reference method 'moe' is not in the table"):
        matched_comparison(table, reference="moe")


def test_setting_is_a_frozen_record():
    setting = get_setting("quick")
    with pytest.raises(AttributeError):
        setting.epochs = 3
    assert PolyMNISTSetting(name="x").to_dict()["betas"] == list(PAPER_BETAS)
