"""Two-dimensional views of latents: one panel per subject, plus all subjects together.

Whether subjects share a latent space shows as the same arrangement of conditions in
every subject's panel, and as overlapping clouds in the panel of all subjects.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import xarray as xr
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize, to_rgba, to_rgba_array
from matplotlib.lines import Line2D
from sklearn.decomposition import PCA

from neuromix._validation import Interval, Options, check_params

__all__ = ["plot_embeddings"]

#: Numeric labels with more distinct values than this get a colourbar instead of a legend.
MAX_CATEGORIES = 10
#: Colour of windows whose label is missing (e.g. a label that one subject lacks).
MISSING_COLOR = to_rgba("0.75")

_CONSTRAINTS = {
    "split": Options((None, "train", "test")),
    "embedding": Options((None, "pca", "umap")),
    "max_points": Interval(int, 1),
    "seed": [Interval(int, 0), Options((None,))],
}


@dataclass(frozen=True)
class _Colors:
    """How the values of one label become colours: a palette or a colour map."""

    name: str
    categories: tuple | None = None  # None: continuous
    palette: np.ndarray | None = None  # (n_categories, 4) RGBA
    cmap: Colormap | None = None
    norm: Normalize | None = None

    def rgba(self, values: np.ndarray) -> np.ndarray:
        if self.categories is not None:
            # Unknown and missing values get code -1, i.e. the last row: grey.
            codes = pd.Categorical(values, categories=list(self.categories)).codes
            return np.vstack([self.palette, MISSING_COLOR])[codes]
        numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
        colors = self.cmap(self.norm(numbers))
        colors[np.isnan(numbers)] = MISSING_COLOR
        return colors

    def handles(self, missing: bool) -> list[Line2D]:
        entries = [(str(c), rgba) for c, rgba in zip(self.categories, self.palette, strict=True)]
        if missing:
            entries.append(("missing", MISSING_COLOR))
        return [
            Line2D([], [], marker="o", linestyle="", color=rgba, label=label)
            for label, rgba in entries
        ]


def _sample_coords(latents: xr.DataArray) -> list[str]:
    return [str(n) for n, c in latents.coords.items() if c.dims == ("sample",)]


def _check_latents(latents, subject_dim: str, color: str, split: str | None) -> None:
    if not isinstance(latents, xr.DataArray):
        raise TypeError(
            "latents must be an xarray.DataArray with dims ('sample', 'latent'), as returned "
            f"by NeuralModel.latents(); got {type(latents).__name__}"
        )
    if "draw" in latents.dims:
        raise ValueError(
            "latents has a 'draw' dim (posterior samples); pick one draw with "
            "latents.isel(draw=0) or average with latents.mean('draw')"
        )
    if set(latents.dims) != {"sample", "latent"}:
        raise ValueError(f"latents must have dims ('sample', 'latent'), got {latents.dims}")
    available = _sample_coords(latents)
    if subject_dim not in available:
        hint = ""
        if "subject_dim" in latents.attrs:
            hint = f" (latents.attrs says subject_dim={latents.attrs['subject_dim']!r})"
        raise ValueError(
            f"subject_dim {subject_dim!r} is not a coordinate along 'sample' of latents"
            f"{hint}; coordinates along 'sample': {', '.join(available)}"
        )
    if color not in available:
        raise ValueError(
            f"color {color!r} is not a coordinate along 'sample' of latents; "
            f"coordinates along 'sample': {', '.join(available)}"
        )
    if split is not None and "split" not in available:
        raise ValueError(
            f"split={split!r} needs a 'split' coordinate along 'sample' of latents "
            "('train'/'test' per window), but latents has none"
        )
    if latents.sizes["latent"] < 2:
        raise ValueError(
            f"latents has {latents.sizes['latent']} latent dimension(s); "
            "plot_embeddings needs at least 2"
        )
    if latents.sizes["sample"] == 0:
        raise ValueError("latents has no samples")


def _categories(values: np.ndarray) -> tuple:
    present = pd.Series(values).dropna().unique()
    try:
        return tuple(sorted(present))
    except TypeError:  # labels of mixed types: keep the order of appearance
        return tuple(present)


def _is_continuous(values: np.ndarray) -> bool:
    series = pd.Series(values).dropna().infer_objects()
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return False
    return series.nunique() > MAX_CATEGORIES


def _color_spec(
    name: str, values: np.ndarray, palette, default: str, categorical: bool = False
) -> _Colors:
    if not categorical and _is_continuous(values):
        if isinstance(palette, Colormap):
            cmap = palette
        elif palette is None or isinstance(palette, str):
            cmap = sns.color_palette(palette or "viridis", as_cmap=True)
        else:
            raise ValueError(
                f"color {name!r} is continuous, so palette must be a colour-map name or a "
                f"Colormap, got {type(palette).__name__}"
            )
        numbers = pd.to_numeric(pd.Series(values), errors="coerce")
        return _Colors(name, cmap=cmap, norm=Normalize(numbers.min(), numbers.max()))
    categories = _categories(values)
    n = len(categories)
    if palette is None:
        palette = default if n <= len(sns.color_palette(default)) else "husl"
    if isinstance(palette, str):
        colors = sns.color_palette(palette, n_colors=n)
    elif isinstance(palette, Mapping):
        lacking = [c for c in categories if c not in palette]
        if lacking:
            raise ValueError(
                f"palette has no colour for {name} value(s) {', '.join(map(repr, lacking))}"
            )
        colors = [palette[c] for c in categories]
    elif isinstance(palette, Sequence):
        if len(palette) < n:
            raise ValueError(
                f"palette has {len(palette)} colours but {name} has {n} values "
                f"({', '.join(map(repr, categories))})"
            )
        colors = list(palette)[:n]
    else:
        raise ValueError(
            "palette must be a palette name, a sequence of colours or a mapping "
            f"value -> colour, got {type(palette).__name__}"
        )
    return _Colors(name, categories=categories, palette=to_rgba_array(colors).reshape(n, 4))


def _embed(values: np.ndarray, embedding: str | None, *, seed) -> tuple[np.ndarray, tuple]:
    """Two coordinates per row of ``values`` and their axis labels."""
    if embedding is None and values.shape[1] == 2:
        return values, ("latent 0", "latent 1")
    if len(values) < 3:
        raise ValueError(
            f"embedding the latents needs at least 3 windows, got {len(values)} "
            "(after split filtering and subsampling)"
        )
    method = embedding or "umap"
    if method == "umap":
        try:
            import umap  # a slow import (numba), so only when UMAP is used
        except ImportError:
            if embedding == "umap":
                raise ImportError(
                    "embedding='umap' needs umap-learn: pip install 'neuromix[umap]'"
                ) from None
            warnings.warn(
                "umap-learn is not installed, so the latents are embedded with PCA instead "
                "of UMAP (pip install 'neuromix[umap]' for UMAP)",
                UserWarning,
                stacklevel=3,
            )
        else:
            reducer = umap.UMAP(n_neighbors=min(15, len(values) - 1), random_state=seed)
            with warnings.catch_warnings():
                # umap notes that a seed forces one thread; that is what we ask for.
                warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
                return reducer.fit_transform(values), ("UMAP 1", "UMAP 2")
    return PCA(n_components=2, random_state=seed).fit_transform(values), ("PC 1", "PC 2")


def _layout(n_panels: int, axes, figsize, what: str):
    if axes is not None:
        axes = list(np.ravel(np.asarray(axes, dtype=object)))
        if len(axes) != n_panels:
            raise ValueError(f"axes must hold {n_panels} Axes ({what}), got {len(axes)}")
        return axes[0].figure, axes, None
    ncols = n_panels if n_panels <= 3 else math.ceil(math.sqrt(n_panels))
    nrows = math.ceil(n_panels / ncols)
    if figsize is None:
        figsize = (3.2 * ncols + 1.6, 3.0 * nrows + 0.4)
    fig = plt.figure(figsize=figsize, layout="constrained")
    first = fig.add_subplot(nrows, ncols, 1)
    axes = [first] + [
        fig.add_subplot(nrows, ncols, i + 1, sharex=first, sharey=first)
        for i in range(1, n_panels)
    ]
    return fig, axes, ncols


def plot_embeddings(
    latents: xr.DataArray,
    *,
    subject_dim: str,
    color: str | None = "odor",
    split: str | None = None,
    seed: int | None = 0,
    max_points: int = 20000,
    embedding: str | None = None,
    palette=None,
    axes=None,
    figsize: tuple[float, float] | None = None,
):
    """Latents in two dimensions: one panel per subject, and one of all subjects.

    Each subject's panel is coloured by ``color``; the last panel shows every subject
    together, coloured by subject. All panels share one embedding, fitted on every shown
    window of every subject, so their coordinates are comparable.

    Parameters
    ----------
    latents : xarray.DataArray
        Dims ``("sample", "latent")`` with coordinates along ``sample`` for
        ``subject_dim``, ``color`` and (for ``split``) ``split``, as returned by
        :meth:`neuromix.NeuralModel.latents`.
    subject_dim : str
        Name of the subject coordinate (e.g. ``"rat"``).
    color : str or None, default="odor"
        Coordinate that colours each subject's panel. Text, boolean and numeric labels
        with at most ten values get a legend, with the same colour for a value in every
        panel; numeric labels with more values get a colourbar. Windows with a missing
        label are grey. ``None`` colours every panel by subject.
    split : {"train", "test"}, optional
        Show only the windows of training or held-out trials (default: all).
    seed : int, default=0
        Seed of the subsampling and of UMAP.
    max_points : int, default=20000
        At most this many windows are shown (and embedded), drawn at random.
    embedding : {"umap", "pca"}, optional
        How to reduce the latent to two dimensions. Default: none for a 2-D latent,
        UMAP otherwise, or PCA with a warning when umap-learn is not installed.
    palette : str, sequence, mapping or Colormap, optional
        Colours of ``color``: a seaborn palette name (default ``"tab10"``, ``"husl"``
        above ten values), a list of colours, a mapping value -> colour, or for a
        continuous label a colour-map name (default ``"viridis"``). Subjects are
        coloured with ``"Dark2"``.
    axes : sequence of matplotlib Axes, optional
        One per subject plus one, in that order (default: a new figure).
    figsize : (float, float), optional
        Size of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from neuromix.datasets import example_latents
    >>> latents = example_latents(n_trials=6, n_windows=4, conditions="ABC")
    >>> fig = plot_embeddings(latents, subject_dim="rat", color="odor")
    >>> [ax.get_title() for ax in fig.axes]
    ['Barat', 'Mitt', 'every rat']
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    color_name = subject_dim if color is None else color
    _check_latents(latents, subject_dim, color_name, split)
    check_params(
        {"split": split, "embedding": embedding, "max_points": max_points, "seed": seed},
        _CONSTRAINTS,
    )
    subjects_all = latents[subject_dim].values
    subjects = tuple(pd.unique(subjects_all))
    # Colours come from every window, before filtering, so a value keeps its colour
    # whatever split or subsample is shown.
    by_subject = _color_spec(subject_dim, subjects_all, None, "Dark2", categorical=True)
    if color_name == subject_dim:
        by_subject = by_color = _color_spec(
            subject_dim, subjects_all, palette, "Dark2", categorical=True
        )
    else:
        by_color = _color_spec(color_name, latents[color_name].values, palette, "tab10")

    shown = np.ones(latents.sizes["sample"], dtype=bool)
    if split is not None:
        shown &= latents["split"].values == split
        if not shown.any():
            raise ValueError(f"split={split!r}: no window of latents belongs to that split")
    index = np.flatnonzero(shown)
    n_total = len(index)
    rng = np.random.default_rng(seed)
    if n_total > max_points:
        index = np.sort(rng.choice(index, int(max_points), replace=False))
    values = np.asarray(latents.transpose("sample", "latent").values, dtype=float)[index]
    if not np.isfinite(values).all():
        raise ValueError("latents contain NaN or infinite values")
    xy, labels = _embed(values, embedding, seed=seed)
    # Draw in random order so that no value is hidden under the values drawn after it.
    order = rng.permutation(len(index))
    index, xy = index[order], xy[order]
    subj = subjects_all[index]
    colors = by_color.rgba(latents[color_name].values[index])
    size = float(np.clip(4000 / len(index), 2, 25))

    fig, ax_list, ncols = _layout(
        len(subjects) + 1, axes, figsize, f"one per {subject_dim} plus one for all"
    )
    style = {"s": size, "linewidths": 0, "alpha": 0.8, "rasterized": True}
    for ax, s in zip(ax_list, subjects, strict=False):
        mine = subj == s
        ax.scatter(xy[mine, 0], xy[mine, 1], c=colors[mine], **style)
        ax.set_title(str(s))
        if not mine.any():
            ax.text(0.5, 0.5, "no windows", transform=ax.transAxes, ha="center", va="center")
    last = ax_list[-1]
    last.scatter(xy[:, 0], xy[:, 1], c=by_subject.rgba(subj), **style)
    last.set_title(f"every {subject_dim}")

    pad = 0.05 * np.ptp(xy, axis=0) + 1e-9
    for i, ax in enumerate(ax_list):
        ax.set_xlim(xy[:, 0].min() - pad[0], xy[:, 0].max() + pad[0])
        ax.set_ylim(xy[:, 1].min() - pad[1], xy[:, 1].max() + pad[1])
        inner_x = ncols is not None and i + ncols < len(ax_list)
        inner_y = ncols is not None and i % ncols != 0
        ax.tick_params(labelbottom=not inner_x, labelleft=not inner_y)
        ax.set_xlabel("" if inner_x else labels[0])
        ax.set_ylabel("" if inner_y else labels[1])

    if by_color.categories is None:
        mappable = ScalarMappable(norm=by_color.norm, cmap=by_color.cmap)
        fig.colorbar(mappable, ax=ax_list[:-1], label=color_name, shrink=0.8)
    else:
        missing = bool(pd.isna(latents[color_name].values[index]).any())
        fig.legend(handles=by_color.handles(missing), title=color_name, loc="outside right upper")
    if by_subject is not by_color:
        fig.legend(handles=by_subject.handles(False), title=subject_dim, loc="outside right lower")

    if axes is None:
        parts = [f"{latents.attrs['method']} latents" if "method" in latents.attrs else "latents"]
        if split is not None:
            parts.append(f"{split} windows")
        if len(index) < n_total:
            parts.append(f"{len(index)} of {n_total} windows shown")
        fig.suptitle(" · ".join(parts))
    return fig
