"""Figures of neuromix.plotting: panels, consistent colours, embeddings, bad inputs."""

import sys
from contextlib import nullcontext as does_not_raise

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.colors import to_rgba
from matplotlib.text import Annotation
from sklearn.decomposition import PCA

import neuromix as nm
from neuromix.plotting import plot_decoding, plot_embeddings, plot_tradeoff, plot_training

ODORS = list("ABCDE")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def make_latents(n_subjects=3, n_trials=10, n_windows=4, d=2, seed=0, subject_dim="rat"):
    """Latents shaped like NeuralModel.latents(); column 0 is the row number, so a
    drawn point's x coordinate says which window it is (2-D latents are not embedded).

    The last subject never gets odor "E", so its palette must still come from all subjects.
    """
    rng = np.random.default_rng(seed)
    subjects = [f"R{i}" for i in range(n_subjects)]
    index = pd.MultiIndex.from_product(
        [subjects, range(n_trials), range(n_windows)], names=[subject_dim, "trial", "window"]
    )
    n = len(index)
    s, trial, window = (index.get_level_values(i).to_numpy() for i in range(3))
    n_odors = np.where(s == subjects[-1], 4, 5) if n_subjects > 1 else 5
    values = rng.normal(size=(n, d))
    values[:, 0] = np.arange(n)
    coords = xr.Coordinates.from_pandas_multiindex(index, "sample")
    return (
        xr.DataArray(values, dims=("sample", "latent"), coords=coords, name="latent")
        .assign_coords(
            odor=("sample", np.array(ODORS)[trial % n_odors]),
            correct=("sample", trial % 3 > 0),
            speed=("sample", rng.uniform(size=n_trials)[trial] + 0.1 * window),
            time=("sample", 0.01 * window),
            split=("sample", np.where(trial >= n_trials - 3, "test", "train")),
            latent=np.arange(d),
        )
        .assign_attrs(method="mmvm", subject_dim=subject_dim)
    )


def points(ax):
    """Offsets and RGB face colours of an Axes' scatter."""
    (collection,) = ax.collections
    return collection.get_offsets().data, collection.get_facecolors()[:, :3]


def legend_colors(legend):
    return {
        t.get_text(): to_rgba(h.get_color())[:3]
        for t, h in zip(legend.get_texts(), legend.legend_handles, strict=True)
    }


# --------------------------------------------------------------------------- plot_embeddings
@pytest.mark.parametrize("n_subjects", [1, 2, 5])
def test_one_panel_per_subject_plus_all(n_subjects):
    lat = make_latents(n_subjects=n_subjects)
    fig = plot_embeddings(lat, subject_dim="rat", color="odor")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [f"R{i}" for i in range(n_subjects)] + ["every rat"]
    assert fig.axes[-1].get_xlabel() == "latent 0"  # bottom row
    assert fig.axes[0].get_ylabel() == "latent 1"  # left column
    for ax, s in zip(fig.axes, [f"R{i}" for i in range(n_subjects)], strict=False):
        xy, _ = points(ax)
        assert np.all(lat.rat.values[xy[:, 0].astype(int)] == s)
    assert len(points(fig.axes[-1])[0]) == lat.sizes["sample"]


@pytest.mark.parametrize("split", [None, "test"])
def test_same_value_same_colour_in_every_panel(split):
    lat = make_latents(n_subjects=3)
    fig = plot_embeddings(lat, subject_dim="rat", color="odor", split=split)
    odor_legend, rat_legend = fig.legends
    expected = legend_colors(odor_legend)
    assert list(expected) == ODORS  # "E" is in the legend though R2 never has it
    assert len(set(expected.values())) == len(ODORS)
    for ax in fig.axes[:-1]:
        xy, rgb = points(ax)
        odor = lat.odor.values[xy[:, 0].astype(int)]
        for o, c in zip(odor, rgb, strict=True):
            np.testing.assert_allclose(c, expected[o])
    xy, rgb = points(fig.axes[-1])
    subject_colors = legend_colors(rat_legend)
    for s, c in zip(lat.rat.values[xy[:, 0].astype(int)], rgb, strict=True):
        np.testing.assert_allclose(c, subject_colors[s])


def test_palette_does_not_depend_on_split_or_palette_order():
    lat = make_latents()
    full = legend_colors(plot_embeddings(lat, subject_dim="rat").legends[0])
    test = legend_colors(plot_embeddings(lat, subject_dim="rat", split="test").legends[0])
    assert full == test
    mapping = {
        o: c for o, c in zip(ODORS, ["red", "green", "blue", "black", "orange"], strict=True)
    }
    given = legend_colors(plot_embeddings(lat, subject_dim="rat", palette=mapping).legends[0])
    assert given == {o: to_rgba(c)[:3] for o, c in mapping.items()}


def test_boolean_label_gets_a_legend_and_many_numeric_values_a_colourbar():
    lat = make_latents(n_subjects=2)
    fig = plot_embeddings(lat, subject_dim="rat", color="correct")
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["False", "True"]
    fig = plot_embeddings(lat, subject_dim="rat", color="speed")
    assert len(fig.axes) == 2 + 1 + 1  # subjects, all, colourbar
    assert fig.axes[-1].get_ylabel() == "speed"
    assert [leg.get_title().get_text() for leg in fig.legends] == ["rat"]


def test_colour_by_subject_when_color_is_none():
    fig = plot_embeddings(make_latents(), subject_dim="rat", color=None)
    assert [leg.get_title().get_text() for leg in fig.legends] == ["rat"]


def test_missing_labels_are_grey():
    lat = make_latents(n_subjects=2)
    odor = lat.odor.values.astype(object)
    odor[lat.rat.values == "R1"] = None
    fig = plot_embeddings(lat.assign_coords(odor=("sample", odor)), subject_dim="rat")
    colors = legend_colors(fig.legends[0])
    assert colors["missing"] == to_rgba("0.75")[:3]
    _, rgb = points(fig.axes[1])
    np.testing.assert_allclose(rgb, np.broadcast_to(colors["missing"], rgb.shape))


def test_split_keeps_only_that_split():
    lat = make_latents()
    fig = plot_embeddings(lat, subject_dim="rat", split="test")
    xy, _ = points(fig.axes[-1])
    n_test = int((lat.split.values == "test").sum())
    assert len(xy) == n_test < lat.sizes["sample"]
    assert set(lat.split.values[xy[:, 0].astype(int)]) == {"test"}
    assert "test windows" in fig.get_suptitle()


def test_subsampling_is_seeded():
    lat = make_latents()
    shown = [
        np.sort(
            points(plot_embeddings(lat, subject_dim="rat", max_points=50, seed=s).axes[-1])[0][
                :, 0
            ]
        )
        for s in (0, 0, 1)
    ]
    assert len(shown[0]) == 50
    np.testing.assert_array_equal(shown[0], shown[1])
    assert not np.array_equal(shown[0], shown[2])


def test_pca_embedding_matches_sklearn():
    lat = make_latents(d=4)
    fig = plot_embeddings(lat, subject_dim="rat", embedding="pca")
    assert (fig.axes[-1].get_xlabel(), fig.axes[0].get_ylabel()) == ("PC 1", "PC 2")
    xy, _ = points(fig.axes[-1])
    expected = PCA(n_components=2, random_state=0).fit_transform(lat.values)
    np.testing.assert_allclose(xy[np.lexsort(xy.T)], expected[np.lexsort(expected.T)], atol=1e-8)


def test_without_umap_auto_falls_back_to_pca_with_a_warning(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # makes `import umap` raise ImportError
    lat = make_latents(d=3)
    with pytest.warns(UserWarning, match="umap-learn is not installed.*PCA instead"):
        fig = plot_embeddings(lat, subject_dim="rat")
    assert fig.axes[-1].get_xlabel() == "PC 1"
    with pytest.raises(ImportError, match=r"embedding='umap' needs umap-learn"):
        plot_embeddings(lat, subject_dim="rat", embedding="umap")


@pytest.mark.slow  # ~15 s: numba compiles UMAP's kernels on the first fit of a process
def test_umap_embedding_of_a_3d_latent():
    pytest.importorskip("umap")
    lat = make_latents(n_subjects=2, n_trials=8, n_windows=4, d=3)
    first = plot_embeddings(lat, subject_dim="rat", seed=3)
    assert (first.axes[-1].get_xlabel(), first.axes[0].get_ylabel()) == ("UMAP 1", "UMAP 2")
    xy, _ = points(first.axes[-1])
    assert xy.shape == (lat.sizes["sample"], 2) and np.isfinite(xy).all()
    again, _ = points(plot_embeddings(lat, subject_dim="rat", seed=3).axes[-1])
    np.testing.assert_allclose(again, xy)


def test_draws_into_given_axes():
    fig, axes = plt.subplots(2, 2)
    assert plot_embeddings(make_latents(), subject_dim="rat", axes=axes) is fig
    with pytest.raises(
        ValueError, match=r"axes must hold 4 Axes \(one per rat plus one for all\), got 2"
    ):
        plot_embeddings(make_latents(), subject_dim="rat", axes=axes[0])


EMBEDDING_CASES = [
    (lambda lat: lat, {}, does_not_raise()),
    (
        lambda lat: lat,
        {"color": "odour"},
        pytest.raises(
            ValueError,
            match=r"color 'odour' is not a coordinate along 'sample' of latents; coordinates along 'sample': .*odor",
        ),
    ),
    (
        lambda lat: lat,
        {"subject_dim": "mouse"},
        pytest.raises(
            ValueError,
            match=r"subject_dim 'mouse' is not a coordinate along 'sample' of latents \(latents.attrs says subject_dim='rat'\)",
        ),
    ),
    (
        lambda lat: lat,
        {"split": "valid"},
        pytest.raises(
            ValueError, match=r"split must be one of None, 'train', 'test', got 'valid'"
        ),
    ),
    (
        lambda lat: lat.drop_vars("split"),
        {"split": "test"},
        pytest.raises(ValueError, match=r"split='test' needs a 'split' coordinate"),
    ),
    (
        lambda lat: lat.assign_coords(split=("sample", np.full(lat.sizes["sample"], "train"))),
        {"split": "test"},
        pytest.raises(
            ValueError, match=r"split='test': no window of latents belongs to that split"
        ),
    ),
    (
        lambda lat: lat,
        {"embedding": "tsne"},
        pytest.raises(
            ValueError, match=r"embedding must be one of None, 'pca', 'umap', got 'tsne'"
        ),
    ),
    (
        lambda lat: lat,
        {"max_points": 0},
        pytest.raises(ValueError, match=r"max_points must be an integer >= 1, got 0"),
    ),
    (
        lambda lat: lat,
        {"palette": {"A": "red"}},
        pytest.raises(
            ValueError, match=r"palette has no colour for odor value\(s\) 'B', 'C', 'D', 'E'"
        ),
    ),
    (
        lambda lat: lat,
        {"palette": ["red", "blue"]},
        pytest.raises(ValueError, match=r"palette has 2 colours but odor has 5 values"),
    ),
    (
        lambda lat: lat.expand_dims(draw=2),
        {},
        pytest.raises(ValueError, match=r"latents has a 'draw' dim .*isel\(draw=0\)"),
    ),
    (
        lambda lat: lat.isel(latent=[0]),
        {},
        pytest.raises(
            ValueError,
            match=r"latents has 1 latent dimension\(s\); plot_embeddings needs at least 2",
        ),
    ),
    (
        lambda lat: lat.where(lat.latent == 0),
        {},
        pytest.raises(ValueError, match=r"latents contain NaN"),
    ),
    (
        lambda lat: lat.values,
        {},
        pytest.raises(TypeError, match=r"latents must be an xarray.DataArray"),
    ),
]


@pytest.mark.parametrize(("transform", "kwargs", "expectation"), EMBEDDING_CASES)
def test_plot_embeddings_bad_input(transform, kwargs, expectation):
    with expectation:
        plot_embeddings(transform(make_latents()), **{"subject_dim": "rat", **kwargs})


# --------------------------------------------------------------------------- plot_training
def make_history(val=True, alpha=False, n=5):
    epoch = np.arange(n)
    history = pd.DataFrame(
        {
            "epoch": epoch,
            "loss": 100.0 / (epoch + 1),
            "recon": 90.0 / (epoch + 1),
            "rate": np.full(n, 10.0),
            "seconds": np.full(n, 0.1),
        }
    )
    if val:
        for c in ("loss", "recon", "rate"):
            history[f"val_{c}"] = history[c] * 1.1
    if alpha:
        history["alpha"] = np.linspace(0, 1, n)
    return history


@pytest.mark.parametrize("val", [True, False])
def test_training_curves(val):
    fig = plot_training(make_history(val=val))
    loss_ax, terms_ax = fig.axes
    suffix = [" (validation)"] if val else []
    assert [line.get_label() for line in loss_ax.get_lines()] == [
        "loss",
        *("loss" + s for s in suffix),
    ]
    labels = [line.get_label() for line in terms_ax.get_lines()]
    assert labels == [
        "recon",
        *("recon" + s for s in suffix),
        "rate",
        *("rate" + s for s in suffix),
    ]
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_ydata(), make_history()["loss"])


@pytest.mark.parametrize(
    ("log", "scales"),
    [(None, ("log", "log")), (False, ("linear", "linear")), (True, ("log", "log"))],
)
def test_training_log_scale(log, scales):
    history = make_history(n=30)  # loss falls 30-fold: auto picks a log axis
    fig = plot_training(history, log=log)
    assert tuple(ax.get_yscale() for ax in fig.axes) == scales


def test_training_log_with_negative_values_is_symlog_and_auto_is_linear():
    history = make_history().assign(loss=lambda h: h.loss - 50)
    assert plot_training(history, log=True).axes[0].get_yscale() == "symlog"
    assert plot_training(history).axes[0].get_yscale() == "linear"


def test_training_minimal_history_alpha_and_given_axes():
    fig = plot_training(pd.DataFrame({"epoch": [0], "loss": [3.0]}))
    assert len(fig.axes) == 1
    fig = plot_training(make_history(alpha=True))
    assert len(fig.axes) == 3 and fig.axes[-1].get_ylabel() == "alpha (dotted)"
    fig, ax = plt.subplots()
    assert plot_training(make_history(), ax=ax) is fig and len(fig.axes) == 1


@pytest.mark.parametrize(
    ("history", "kwargs", "expectation"),
    [
        (make_history(), {}, does_not_raise()),
        (
            make_history().drop(columns="loss"),
            {},
            pytest.raises(ValueError, match=r"history has no column 'loss'"),
        ),
        (make_history().iloc[:0], {}, pytest.raises(ValueError, match=r"history has no rows")),
        (
            make_history(),
            {"log": "yes"},
            pytest.raises(ValueError, match=r"log must be one of None, True, False, got 'yes'"),
        ),
        (
            make_history().to_dict(),
            {},
            pytest.raises(TypeError, match=r"history must be a pandas DataFrame"),
        ),
    ],
)
def test_plot_training_bad_input(history, kwargs, expectation):
    with expectation:
        plot_training(history, **kwargs)


# --------------------------------------------------------------------------- plot_decoding
def make_decoding(names=("Barat", "Mitt", "Stella"), shuffled=True):
    names = list(names)
    n = len(names)
    transfer = 0.5 + 0.1 * np.arange(n * n).reshape(n, n) / n**2
    data = {
        "accuracy": ("rat", np.diag(transfer).copy()),
        "transfer": (("train_rat", "test_rat"), transfer),
        "chance": ("rat", np.linspace(0.2, 0.3, n)),
    }
    if shuffled:
        data["shuffled"] = ("rat", np.linspace(0.19, 0.29, n))
    return xr.Dataset(
        data,
        coords={"rat": names, "train_rat": names, "test_rat": names},
        attrs={"label": "odor", "method": "mmvm"},
    )


def test_decoding_heatmap_annotations_and_controls():
    decoding = make_decoding()
    fig = plot_decoding(decoding)
    heat, bars = fig.axes[:2]
    values = [float(t.get_text()) for t in heat.texts]
    np.testing.assert_allclose(values, np.round(decoding.transfer.values.ravel(), 2))
    labels = [t.get_text() for t in heat.get_xticklabels()]
    assert labels[0] == "Barat\nchance 0.20\nshuffled 0.19"
    assert [t.get_text() for t in heat.get_yticklabels()] == ["Barat", "Mitt", "Stella"]
    assert heat.get_title() == "decoding odor (mmvm)"
    assert [t.get_text() for t in bars.get_legend().get_texts()] == [
        "accuracy",
        "chance",
        "shuffled labels",
    ]
    heights = [p.get_height() for p in bars.patches]
    np.testing.assert_allclose(heights[3:6], decoding.chance.values)


def test_decoding_bars_carry_the_trial_intervals():
    decoding = make_decoding()
    acc = decoding.accuracy.values
    ci = np.stack([acc - 0.05, acc + 0.1], axis=1)
    decoding["accuracy_ci"] = (("rat", "bound"), ci)
    decoding = decoding.assign_coords(bound=["low", "high"])
    bars = plot_decoding(decoding).axes[1]
    assert bars.get_legend().get_texts()[0].get_text() == "accuracy (95% CI over trials)"
    (errorbar,) = [c for c in bars.containers if getattr(c, "errorbar", None) is not None]
    segments = errorbar.errorbar.lines[2][0].get_segments()
    np.testing.assert_allclose([seg[:, 1] for seg in segments], ci, atol=1e-12)


def test_decoding_without_shuffled_and_on_one_axes():
    fig, ax = plt.subplots()
    assert plot_decoding(make_decoding(shuffled=False), ax=ax) is fig
    assert ax.get_xticklabels()[1].get_text() == "Mitt\nchance 0.25"


@pytest.mark.parametrize(
    ("decoding", "expectation"),
    [
        (make_decoding(), does_not_raise()),
        (
            make_decoding().drop_vars("transfer"),
            pytest.raises(ValueError, match=r"decoding has no 'transfer' variable"),
        ),
        (
            make_decoding().rename({"test_rat": "other"}),
            pytest.raises(ValueError, match=r"must have dims \('train_<dim>', 'test_<dim>'\)"),
        ),
        (
            make_decoding()["transfer"],
            pytest.raises(TypeError, match=r"decoding must be an xarray.Dataset"),
        ),
    ],
)
def test_plot_decoding_bad_input(decoding, expectation):
    with expectation:
        plot_decoding(decoding)


# --------------------------------------------------------------------------- plot_tradeoff
def make_table(seeds=1):
    betas = [0.1, 1.0, 10.0, 100.0]
    rows = [
        {
            "method": m,
            "beta": b,
            "seed": s,
            "recon": i + j + 0.1 * s,
            "accuracy": 0.5 + 0.1 * j - 0.1 * i + 0.02 * s * (j + 1),
        }
        for i, m in enumerate(["poe", "mmvm"])
        for j, b in enumerate(betas)
        for s in range(seeds)
    ]
    return pd.DataFrame(rows).sample(frac=1, random_state=0)  # shuffled: order comes from beta


def arrows(ax):
    return [a for a in ax.texts if isinstance(a, Annotation) and a.arrow_patch is not None]


@pytest.mark.parametrize("seeds", [1, 3])
def test_tradeoff_one_line_per_method_with_arrows_up_beta(seeds):
    table = make_table(seeds)
    fig = plot_tradeoff(table)
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in lines] == list(pd.unique(table.method))
    means = table.groupby(["method", "beta"])[["recon", "accuracy"]].mean()
    for line in lines:
        expected = means.loc[line.get_label()].sort_index()
        np.testing.assert_allclose(line.get_xdata(), expected.recon)
        np.testing.assert_allclose(line.get_ydata(), expected.accuracy)
    assert len(arrows(ax)) == 2 * 3
    beta_at = {(round(r.recon, 9), round(r.accuracy, 9)): b for (_, b), r in means.iterrows()}
    for arrow in arrows(ax):
        start, end = (tuple(round(v, 9) for v in p) for p in (arrow.xyann, arrow.xy))
        assert beta_at[start] < beta_at[end]
    assert (len(ax.containers) > 0) == (seeds > 1)  # error bars only over repeated fits


@pytest.mark.parametrize(
    ("errorbar", "factor"),
    [("sd", 1.0), ("se", 1 / np.sqrt(3)), ("ci95", 4.302652729911275 / np.sqrt(3))],
)
def test_tradeoff_error_bars(errorbar, factor):
    table = make_table(3)
    kwargs = {} if errorbar == "sd" else {"errorbar": errorbar}  # sd: the default
    ax = plot_tradeoff(table, **kwargs).axes[0]
    std = table.groupby(["method", "beta"])[["recon", "accuracy"]].std()
    for container, method in zip(ax.containers, pd.unique(table.method), strict=True):
        # matplotlib draws the x bars, then the y bars
        xbars, ybars = (np.asarray(c.get_segments()) for c in container.lines[2])
        half = {
            "recon": (xbars[:, 1, 0] - xbars[:, 0, 0]) / 2,
            "accuracy": (ybars[:, 1, 1] - ybars[:, 0, 1]) / 2,
        }
        for column in ("recon", "accuracy"):
            expected = std.loc[method, column].sort_index().to_numpy() * factor
            np.testing.assert_allclose(half[column], expected)


@pytest.mark.parametrize(
    ("kwargs", "table", "expectation"),
    [
        ({}, make_table(), does_not_raise()),
        (
            {"errorbar": "iqr"},
            make_table(),
            pytest.raises(
                ValueError, match=r"errorbar must be one of \('sd', 'se', 'ci95'\), got 'iqr'"
            ),
        ),
        (
            {"hue": "algo"},
            make_table(),
            pytest.raises(ValueError, match=r"hue='algo' is not a column of table"),
        ),
        (
            {"y": "coherence"},
            make_table(),
            pytest.raises(ValueError, match=r"y='coherence' is not a column of table"),
        ),
        (
            {"x": "method"},
            make_table(),
            pytest.raises(ValueError, match=r"x='method': column must be numeric"),
        ),
        (
            {"hue_order": ["moe"]},
            make_table(),
            pytest.raises(ValueError, match=r"hue_order: 'moe' not in table\['method'\]"),
        ),
        ({}, make_table().iloc[:0], pytest.raises(ValueError, match=r"table has no rows")),
    ],
)
def test_plot_tradeoff_bad_input(kwargs, table, expectation):
    with expectation:
        plot_tradeoff(table, **kwargs)


# --------------------------------------------------------------------------- inputs untouched
def test_inputs_are_not_modified():
    lat, history, decoding, table = (
        make_latents(d=3),
        make_history(alpha=True),
        make_decoding(),
        make_table(2),
    )
    copies = lat.copy(deep=True), history.copy(), decoding.copy(deep=True), table.copy()
    plot_embeddings(lat, subject_dim="rat", split="test", max_points=20, embedding="pca")
    plot_embeddings(lat, subject_dim="rat", color="speed", embedding="pca")
    plot_training(history)
    plot_decoding(decoding)
    plot_tradeoff(table)
    xr.testing.assert_identical(lat, copies[0])
    pd.testing.assert_frame_equal(history, copies[1])
    xr.testing.assert_identical(decoding, copies[2])
    pd.testing.assert_frame_equal(table, copies[3])


# --------------------------------------------------------------------------- a fitted model
@pytest.fixture(scope="module")
def model():
    rec = nm.datasets.simulate_odor_sequence(
        seed=0, n_trials=30, n_units=6, subjects=["Barat", "Mitt"]
    )
    return nm.fit(rec, subject_dim="rat", epochs=2, progress=False)


def test_figures_of_a_fitted_model(model):
    fig = model.plot_embeddings(split="test", embedding="pca")
    assert [ax.get_title() for ax in fig.axes] == ["Barat", "Mitt", "every rat"]
    assert len(fig.axes[-1].collections[0].get_offsets()) == int(
        (model.latents().split == "test").sum()
    )
    # the loss, its terms, and the validation criterion (decoding, the default)
    assert [ax.get_title() for ax in model.plot_training().axes] == [
        "loss",
        "reconstruction and rate",
        "decoding accuracy",
    ]
    fig = plot_decoding(model.decode())
    assert [t.get_text().split("\n")[0] for t in fig.axes[0].get_xticklabels()] == [
        "Barat",
        "Mitt",
    ]
