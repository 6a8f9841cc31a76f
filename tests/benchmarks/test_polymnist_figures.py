"""Figures 2, 7 and 6 of the PolyMNIST benchmark and the report written from a table."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from neuromix.benchmarks.polymnist import (
    get_setting,
    load_generations,
    plot_conditional_generation,
    plot_figure2,
    save_figure6,
    write_report,
)
from neuromix.benchmarks.polymnist.figures import GAP

METHODS = ("avg", "moe", "mmvm")
BETAS = (0.25, 1.0, 4.0)


def make_table(seeds=3):
    rng = np.random.default_rng(0)
    data = []
    for i, method in enumerate(METHODS):
        for k, beta in enumerate(BETAS):
            for seed in range(seeds):
                recon = 100.0 + 10 * k + 5 * i + rng.normal()
                data.append(
                    {
                        "method": method,
                        "beta": beta,
                        "seed": seed,
                        "recon": recon,
                        "recon_self": recon + 3.0,
                        "accuracy": 0.5 + 0.05 * k + 0.1 * (method == "mmvm") + 0.01 * seed,
                        "coherence": 0.4 + 0.1 * k * (method != "moe") + 0.02 * seed,
                        "mae": 0.1,
                        "mae_self": 0.12,
                        "fit_seconds": 10.0,
                        "eval_seconds": 2.0,
                        "seconds": 12.0,
                    }
                )
    return pd.DataFrame(data)


def error_bars(ax, index):
    """Half-widths (x, y) of the error bars of one line (matplotlib draws x, then y)."""
    xbars, ybars = (np.asarray(c.get_segments()) for c in ax.containers[index].lines[2])
    return (xbars[:, 1, 0] - xbars[:, 0, 0]) / 2, (ybars[:, 1, 1] - ybars[:, 0, 1]) / 2


@pytest.mark.parametrize("x", ["recon", "recon_self"])
def test_figure2_points_are_seed_means_with_standard_errors(x):
    table = make_table()
    fig = plot_figure2(table, x=x, data="PolyMNIST", likelihood="Gaussian")
    stats = table.groupby(["method", "beta"])[[x, "accuracy"]].agg(["mean", "std", "count"])
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in lines] == list(METHODS)  # the paper's order
    for index, line in enumerate(lines):
        s = stats.loc[line.get_label()].sort_index()  # beta order
        np.testing.assert_allclose(line.get_xdata(), s[(x, "mean")])
        np.testing.assert_allclose(line.get_ydata(), s[("accuracy", "mean")])
        xerr, yerr = error_bars(ax, index)
        np.testing.assert_allclose(xerr, s[(x, "std")] / np.sqrt(3))
        np.testing.assert_allclose(yerr, s[("accuracy", "std")] / np.sqrt(3))
    assert "Gaussian NLL" in ax.get_xlabel() and "Laplace" not in ax.get_xlabel()
    title = fig.get_suptitle()
    assert title.startswith("PolyMNIST") and "translated" not in title
    assert "means over 3 seeds, error bars: one standard error" in title
    plt.close(fig)


def test_figure2_with_one_seed_says_so():
    fig = plot_figure2(make_table(seeds=1), errorbar="ci95")
    assert fig.get_suptitle().endswith("one seed per point, no error bars")
    assert not fig.axes[0].containers
    plt.close(fig)


def make_generations(n_source=3, n_examples=4, channels=3):
    rng = np.random.default_rng(1)
    generated = rng.random((n_source, n_source, n_examples, channels, 28, 28))
    sources = rng.random((n_source, n_examples, channels, 28, 28))
    return generated.astype(np.float16), sources.astype(np.float16)


def panel(fig, n_source, row, source):
    return np.asarray(fig.axes[row * n_source + source].images[0].get_array())


@pytest.mark.parametrize("channels", [3, 1])
def test_conditional_generation_panels_hold_the_images_passed(channels):
    generated, sources = make_generations(channels=channels)
    fig = plot_conditional_generation(
        generated, sources, labels=[3, 1, 4, 1], modalities=["a", "b", "c"]
    )
    assert len(fig.axes) == 3 * 4
    for i in range(3):
        strip = panel(fig, 3, 0, i)
        assert strip.shape == (28, 4 * 28 + 3 * GAP, 3)
        for k in range(4):
            cols = slice(k * (28 + GAP), k * (28 + GAP) + 28)
            expected = sources[i, k].astype(np.float32).transpose(1, 2, 0)
            np.testing.assert_array_equal(strip[:, cols], np.broadcast_to(expected, (28, 28, 3)))
            for j in range(3):
                expected = generated[i, j, k].astype(np.float32).transpose(1, 2, 0)
                np.testing.assert_array_equal(
                    panel(fig, 3, 1 + j, i)[:, cols], np.broadcast_to(expected, (28, 28, 3))
                )
        assert np.all(strip[:, 28 : 28 + GAP] == 1.0)  # white gaps
    assert fig.axes[1].get_title() == "from b (digits 3 1 4 1)"
    assert fig.axes[3 * 2].get_ylabel() == "-> b"
    plt.close(fig)


@pytest.mark.parametrize(
    ("shapes", "match"),
    [
        (((3, 3, 4, 3, 28), (3, 4, 3, 28, 28)), r"generated must have shape"),
        (
            ((3, 3, 4, 3, 28, 28), (2, 4, 3, 28, 28)),
            r"sources must have shape \(3, 4, 3, 28, 28\)",
        ),
    ],
)
def test_conditional_generation_bad_shapes(shapes, match):
    with pytest.raises(ValueError, match=match):
        plot_conditional_generation(np.zeros(shapes[0]), np.zeros(shapes[1]))


def write_generations(folder, method, beta, seed, n_examples=4):
    generated, sources = make_generations(n_examples=n_examples)
    folder.mkdir(exist_ok=True)
    path = folder / f"{method}-beta{beta:g}-seed{seed}.npz"
    np.savez(
        path,
        generated=generated,
        sources=sources,
        labels=np.arange(n_examples),
        modalities=np.array(["m0", "m1", "m2"]),
    )
    return path, generated


def test_figure6_at_the_beta_of_best_coherence_from_the_first_saved_seed(tmp_path):
    table = make_table()
    # best coherence: avg and mmvm at beta 4; moe constant in beta (first maximum, 0.25)
    write_generations(tmp_path / "generations", "avg", 4.0, 0)
    write_generations(tmp_path / "generations", "mmvm", 4.0, 1)  # seed 0 not saved
    write_generations(tmp_path / "generations", "mmvm", 1.0, 0)  # not the chosen beta
    drawn = save_figure6(tmp_path, table)
    assert list(drawn) == ["avg", "mmvm"]  # moe has no file: skipped
    assert drawn["mmvm"]["beta"] == 4.0 and drawn["mmvm"]["seed"] == 1
    assert drawn["mmvm"]["coherence"] == pytest.approx(0.4 + 0.2 + 0.02)
    for method in drawn:
        assert (tmp_path / f"figure6_{method}.png").stat().st_size > 0
    assert save_figure6(tmp_path, table, beta=1.0).keys() == {"mmvm"}
    assert save_figure6(tmp_path / "elsewhere", table) == {}


def test_load_generations(tmp_path):
    path, generated = write_generations(tmp_path, "avg", 0.0625, 2)
    assert path.name == "avg-beta0.0625-seed2.npz"
    g = load_generations(path)
    assert g["generated"].dtype == np.float32 and g["modalities"] == ["m0", "m1", "m2"]
    np.testing.assert_array_equal(g["generated"], generated.astype(np.float32))
    np.savez(tmp_path / "bad.npz", generated=generated)
    with pytest.raises(ValueError, match=r"missing arrays \['labels', 'modalities', 'sources'\]"):
        load_generations(tmp_path / "bad.npz")


def info(**names):
    return {
        "n_train": 100,
        "n_test": 50,
        "classifiers": {
            "accuracy": {"m0": 0.9, "m1": 0.95, "m2": 0.92},
            "mean_accuracy": 0.923,
            "n_train_images": 1000,
            "epochs": 2,
            "width": 16,
            "seconds": 30.0,
        },
        "pixel_reference": {
            "accuracy": {"m0": 0.3, "m1": 0.3, "m2": 0.3},
            "mean_accuracy": 0.3,
            "n_components": 16,
        },
        **names,
    }


def test_write_report(tmp_path):
    table = make_table()
    setting = get_setting(
        "quick",
        methods=METHODS,
        betas=BETAS,
        seeds=(0, 1, 2),
        digit_scale=1.0,
        likelihood="gaussian",
        likelihood_scale=0.1,
        architecture="conv",
    )
    write_generations(tmp_path / "generations", "mmvm", 4.0, 0)
    write_report(tmp_path, setting, table, info())
    for name in ("figure2.png", "figure7.png", "figure6_mmvm.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert not (tmp_path / "figure6_avg.png").exists()
    report = (tmp_path / "polymnist.md").read_text()
    assert report.startswith("# PolyMNIST: reproduction")
    setting_part = report.split("## The paper's full setting")[0]
    assert "Laplace" not in setting_part and "digits scaled by" not in setting_part
    assert "untranslated" in setting_part and "three-layer conv" in setting_part
    assert "Gaussian likelihood of fixed scale 0.1" in setting_part
    assert "**Verdict.** At matched reconstruction, MMVM's probe accuracy is " in report
    assert "MMVM's coherence is" in report and "2 degrees of freedom" in report
    assert "![Figure 6, mmvm](figure6_mmvm.png)" in report
    assert "**MMVM** (beta 2^2, seed 0, coherence 0.620)" in report
    # every method's probe is above the pixels' 0.3 (make_table: 0.62, 0.62, 0.72 at best)
    assert "The models learned the digit: the best probe (mean over seeds) is 0.7" in report
    assert "3 of 3 methods beat that probe" in report and "Under-trained" not in report


def test_report_says_under_trained_when_no_probe_beats_the_pixels(tmp_path):
    table = make_table()
    worse = info()
    worse["pixel_reference"] = dict(worse["pixel_reference"], mean_accuracy=0.95)
    write_report(tmp_path, get_setting("quick", methods=METHODS, betas=BETAS), table, worse)
    report = (tmp_path / "polymnist.md").read_text()
    best = table.groupby(["method", "beta"])["accuracy"].mean().max()
    assert (
        f"**Under-trained: no method learned the digit** (the best probe, mean over seeds, "
        f"is {best:.3f}, MMVM at beta 2^"
    ) in report
    assert "reaches 0.950), so this run cannot tell the methods apart." in report


def test_report_without_generations_has_no_figure6(tmp_path):
    write_report(
        tmp_path, get_setting("quick", methods=METHODS, betas=BETAS), make_table(1), info()
    )
    report = (tmp_path / "polymnist.md").read_text()
    assert "Figure 6" not in report
    assert "With a single seed no paired test over seeds is possible" in report
    assert report.startswith("# Translated PolyMNIST")  # the default names
    assert "translated_polymnist" in report and "Laplace likelihood of scale 0.75" in report
