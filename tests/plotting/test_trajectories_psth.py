"""Condition trajectories and PSTHs: the drawn data against means computed by hand."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from sklearn.decomposition import PCA

import neuromix as nm
from neuromix.plotting import (
    condition_trajectories,
    generated_windows,
    plot_psth,
    plot_trajectories,
    window_psth,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def make_latents(n_subjects=3, n_trials=12, n_windows=5, d=2, seed=0):
    """Random latents shaped like NeuralModel.latents(); odor depends on the trial."""
    index = pd.MultiIndex.from_product(
        [[f"R{i}" for i in range(n_subjects)], range(n_trials), range(n_windows)],
        names=["rat", "trial", "window"],
    )
    trial = index.get_level_values("trial").to_numpy()
    return xr.DataArray(
        np.random.default_rng(seed).normal(size=(len(index), d)),
        dims=("sample", "latent"),
        coords=xr.Coordinates.from_pandas_multiindex(index, "sample"),
    ).assign_coords(
        odor=("sample", np.array(list("ABC"))[trial % 3]),
        split=("sample", np.where(trial >= n_trials - 3, "test", "train")),
    )


def hand_mean(lat, rat, odor, split=None):
    """(window, latent) mean over the trials of one rat and odor, by loops."""
    v, r, o, w = lat.values, lat.rat.values, lat.odor.values, lat.window.values
    keep = (r == rat) & (o == odor)
    if split is not None:
        keep &= lat.split.values == split
    return np.array([v[keep & (w == k)].mean(axis=0) for k in np.unique(w)])


@pytest.mark.parametrize("split", [None, "test"])
def test_trajectories_are_the_means_per_condition_and_window(split):
    lat = make_latents()
    paths = condition_trajectories(lat, subject_dim="rat", split=split)
    assert paths.dims == ("rat", "odor", "window", "latent")
    for rat in ("R0", "R2"):
        for odor in "ABC":
            np.testing.assert_allclose(
                paths.sel(rat=rat, odor=odor).values, hand_mean(lat, rat, odor, split)
            )


def test_plotted_lines_join_the_means_in_time_and_mark_the_first_window():
    lat = make_latents()
    fig = plot_trajectories(lat, subject_dim="rat", split="test")
    assert [ax.get_title() for ax in fig.axes] == ["R0", "R1", "R2"]
    for ax, rat in zip(fig.axes, ["R0", "R1", "R2"], strict=True):
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert sorted(lines) == ["A", "B", "C"]
        starts = np.vstack([c.get_offsets() for c in ax.collections[1:]])
        for odor, line in lines.items():
            expected = hand_mean(lat, rat, odor, "test")
            np.testing.assert_allclose(line.get_xydata(), expected)
            assert any(np.allclose(s, expected[0]) for s in starts)  # start marked


def test_trajectories_of_a_wider_latent_share_one_pca():
    lat = make_latents(d=4)
    fig = plot_trajectories(lat, subject_dim="rat", windows=False)
    means = condition_trajectories(lat, subject_dim="rat")
    pca = PCA(n_components=2).fit(means.values.reshape(-1, 4))
    line = next(li for li in fig.axes[1].get_lines() if li.get_label() == "B")
    np.testing.assert_allclose(line.get_xydata(), pca.transform(hand_mean(lat, "R1", "B")))
    assert fig.axes[0].get_xlabel() == "PC 1"


def test_trajectories_name_a_missing_coordinate():
    with pytest.raises(ValueError, match="no coordinate 'correct'"):
        condition_trajectories(make_latents(), subject_dim="rat", label="correct")


def make_windows(n_trials=6, n_windows=4, n_units=3, n_lags=5, start=0.2, seed=0):
    """Windows cut from binned counts as NeuralModel.windows() cuts them, and the counts."""
    rng = np.random.default_rng(seed)
    n_bins = n_windows - 1 + n_lags
    counts = rng.poisson(2.0, size=(n_trials, n_units, n_bins)).astype(float)
    odor = np.array(list("AB"))[np.arange(n_trials) % 2]
    rows = [
        counts[t, :, w : w + n_lags].reshape(-1) for t in range(n_trials) for w in range(n_windows)
    ]
    windows = xr.DataArray(
        np.array(rows),
        dims=("sample", "feature"),
        coords={
            "odor": ("sample", np.repeat(odor, n_windows)),
            "time": ("sample", np.tile(start + 0.01 * np.arange(n_windows), n_trials)),
        },
    )
    return windows, counts, odor


def test_psth_of_windows_is_the_trial_mean_of_the_counts():
    windows, counts, odor = make_windows()
    rate = window_psth(windows, n_lags=5)
    assert rate.dims == ("odor", "unit", "time")
    np.testing.assert_allclose(rate.time.values, 0.2 + 0.01 * np.arange(counts.shape[2]))
    for o in "AB":
        np.testing.assert_allclose(rate.sel(odor=o).values, counts[odor == o].mean(axis=0) / 0.01)


def test_psth_ignores_padding_and_refuses_a_partial_window():
    windows, _, _ = make_windows()
    padded = xr.concat([windows, xr.full_like(windows.isel(feature=[0, 1]), np.nan)], "feature")
    xr.testing.assert_allclose(window_psth(padded, n_lags=5), window_psth(windows, n_lags=5))
    with pytest.raises(ValueError, match="not a whole number of 4 lags"):
        window_psth(windows, n_lags=4)


def test_plot_psth_draws_each_rows_psth_for_the_most_selective_units():
    windows, counts, odor = make_windows(n_units=4)
    windows_b = windows.copy(data=windows.values * 0.5)
    fig = plot_psth({"real": windows, "half": windows_b}, units=2, n_lags=5)
    rate = counts[odor == "A"].mean(0) - counts[odor == "B"].mean(0)  # 2 conditions:
    order = np.argsort(-(rate**2).sum(axis=1), kind="stable")  # variance ~ squared difference
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [f"{r} · unit {u}" for r in ("real", "half") for u in order[:2]]
    shown = [(scale, u) for scale in (1.0, 0.5) for u in order[:2]]
    for ax, (scale, u) in zip(fig.axes, shown, strict=True):
        for line in ax.get_lines():
            expected = scale * counts[odor == line.get_label(), u].mean(axis=0) / 0.01
            np.testing.assert_allclose(line.get_ydata(), expected)


@pytest.fixture(scope="module")
def fitted():
    rec = nm.datasets.simulate_odor_sequence(seed=0, n_trials=30, n_units=12)
    return nm.fit(rec, subject_dim="rat", epochs=1, seed=0, progress=False, hidden=(16, 16))


def test_generated_windows_decode_the_source_latents_with_the_target_decoder(fitted):
    gen = generated_windows(fitted, "Barat", "Mitt")
    win = fitted.windows()
    src = (win.rat.values == "Barat") & (win.split.values == "test")
    barat = win.values[src][:, ~np.isnan(win.values[src]).all(axis=0)]
    expected = fitted.vae_.generate({"Barat": barat}, "Mitt", sample=False)
    np.testing.assert_allclose(gen.values, expected)
    np.testing.assert_array_equal(gen.odor.values, win.odor.values[src])
    window = win.window.values[src]
    np.testing.assert_allclose(gen.time.values, fitted.starts_["Mitt"] + 0.01 * window)
    rate = window_psth(gen)
    assert rate.sizes["unit"] == fitted.counts_["Mitt"].sizes["unit"]
