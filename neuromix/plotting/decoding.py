"""Decoding figures: the cross-subject transfer matrix, and metric trade-offs over beta."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from neuromix.plotting._axes import axes_list

__all__ = ["plot_decoding", "plot_tradeoff"]


def _as_axes(ax, n_max: int, what: str) -> list[Axes] | None:
    if ax is None:
        return None
    axes = axes_list(ax, n_max)
    if axes is None:
        raise ValueError(f"ax must be one Axes or a sequence of up to {n_max} Axes ({what})")
    return axes


def _subject_dim(decoding) -> str:
    if not isinstance(decoding, xr.Dataset):
        raise TypeError(
            "decoding must be an xarray.Dataset as returned by NeuralModel.decode() or "
            f".alignment(), got {type(decoding).__name__}"
        )
    if "transfer" not in decoding.data_vars:
        raise ValueError(
            "decoding has no 'transfer' variable; variables: "
            f"{', '.join(map(str, decoding.data_vars))}"
        )
    dims = decoding["transfer"].dims
    if len(dims) != 2 or not dims[0].startswith("train_") or dims[1] != "test_" + dims[0][6:]:
        raise ValueError(
            f"decoding['transfer'] must have dims ('train_<dim>', 'test_<dim>'), got {dims}"
        )
    return dims[0][len("train_") :]


def _per_subject(decoding: xr.Dataset, name: str, dim: str, names) -> np.ndarray | None:
    """Values of variable ``name`` in the order of the transfer matrix's columns."""
    if name not in decoding.data_vars:
        return None
    var = decoding[name]
    if var.dims != (dim,):
        raise ValueError(f"decoding[{name!r}] must have dims ({dim!r},), got {var.dims}")
    if dim in decoding.coords:
        var = var.sel({dim: names})
    return np.asarray(var.values, dtype=float)


def plot_decoding(
    decoding: xr.Dataset,
    *,
    ax=None,
    cmap: str = "viridis",
    figsize: tuple[float, float] | None = None,
):
    """The cross-subject decoding matrix, beside each subject's chance and control.

    Row ``i``, column ``j`` of the heatmap is the accuracy of a decoder trained on
    subject ``i``'s training latents and tested on subject ``j``'s held-out latents;
    the diagonal is within-subject decoding. Below each column are the test subject's
    chance (majority-class rate) and shuffled-label control; a bar chart beside the
    heatmap compares each subject's accuracy with both. Aligned latent spaces give
    off-diagonal accuracies close to the diagonal, all above chance.

    Parameters
    ----------
    decoding : xarray.Dataset
        As returned by :meth:`neuromix.NeuralModel.decode` (or ``.alignment()``, which
        has no ``shuffled``): ``transfer`` (``train_<dim>``, ``test_<dim>``) and,
        optionally, ``accuracy``, ``chance`` and ``shuffled`` along ``<dim>``; attrs
        ``label`` and ``method`` go into the title.
    ax : matplotlib Axes or sequence of two Axes, optional
        One Axes gets only the heatmap; two get the heatmap and the bar chart.
        Default: a new figure with both.
    cmap : str, default="viridis"
        Colour map of the heatmap, on a fixed 0-1 scale.
    figsize : (float, float), optional
        Size of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> names = ["Barat", "Mitt"]
    >>> decoding = xr.Dataset(
    ...     {"transfer": (("train_rat", "test_rat"), [[0.9, 0.7], [0.6, 0.8]]),
    ...      "chance": ("rat", [0.25, 0.25]), "shuffled": ("rat", [0.22, 0.27])},
    ...     coords={"rat": names, "train_rat": names, "test_rat": names})
    >>> fig = plot_decoding(decoding)
    >>> fig.axes[0].get_xticklabels()[0].get_text()
    'Barat\\nchance 0.25\\nshuffled 0.22'
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    dim = _subject_dim(decoding)
    axes = _as_axes(ax, 2, "heatmap, bar chart")
    transfer = decoding["transfer"]
    train_names = [str(n) for n in decoding[f"train_{dim}"].values]
    test_values = decoding[f"test_{dim}"].values
    test_names = [str(n) for n in test_values]
    matrix = np.asarray(transfer.values, dtype=float)
    chance = _per_subject(decoding, "chance", dim, test_values)
    shuffled = _per_subject(decoding, "shuffled", dim, test_values)
    accuracy = _per_subject(decoding, "accuracy", dim, test_values)
    if accuracy is None and train_names == test_names:
        accuracy = np.diag(matrix)

    n = len(test_names)
    if axes is None:
        if figsize is None:
            figsize = (1.6 * n + 4.0, max(3.6, 0.8 * n + 2.0))
        fig, axes = plt.subplots(
            1, 2, figsize=figsize, layout="constrained", width_ratios=[n + 1.2, 0.6 * n + 1]
        )
        axes = list(axes)
    fig = axes[0].figure

    labels = []
    for j, name in enumerate(test_names):
        lines = [name]
        if chance is not None:
            lines.append(f"chance {chance[j]:.2f}")
        if shuffled is not None:
            lines.append(f"shuffled {shuffled[j]:.2f}")
        labels.append("\n".join(lines))
    heat = axes[0]
    sns.heatmap(
        matrix,
        ax=heat,
        vmin=0,
        vmax=1,
        cmap=cmap,
        annot=True,
        fmt=".2f",
        square=True,
        xticklabels=labels,
        yticklabels=train_names,
        cbar_kws={"label": "accuracy", "shrink": 0.8},
    )
    if train_names == test_names:  # outline within-subject decoding
        for i in range(n):
            heat.add_patch(Rectangle((i, i), 1, 1, fill=False, edgecolor="white", linewidth=1.5))
    heat.tick_params(axis="x", labelrotation=0, labelsize="small")
    heat.tick_params(axis="y", labelrotation=0)
    heat.set_xlabel(f"tested on ({dim})")
    heat.set_ylabel(f"trained on ({dim})")
    title = "decoding"
    if "label" in decoding.attrs:
        title += f" {decoding.attrs['label']}"
    if "method" in decoding.attrs:
        title += f" ({decoding.attrs['method']})"
    heat.set_title(title)

    if len(axes) > 1:
        bars = axes[1]
        series = [
            (name, values, color)
            for name, values, color in (
                ("accuracy", accuracy, "C0"),
                ("chance", chance, "0.6"),
                ("shuffled labels", shuffled, "C3"),
            )
            if values is not None
        ]
        width = 0.8 / max(len(series), 1)
        x = np.arange(n)
        interval = None
        if "accuracy_ci" in decoding and accuracy is not None:
            ci = decoding["accuracy_ci"].sel({dim: test_values})
            low, high = ci.sel(bound="low").values, ci.sel(bound="high").values
            interval = np.vstack([accuracy - low, high - accuracy]).clip(min=0)
        for k, (name, values, color) in enumerate(series):
            offset = (k - (len(series) - 1) / 2) * width
            yerr = interval if name == "accuracy" else None
            label = f"{name} (95% CI over trials)" if yerr is not None else name
            bars.bar(x + offset, values, width, color=color, label=label, yerr=yerr, capsize=2)
        bars.set_xticks(x, test_names, rotation=45, ha="right")
        bars.set_ylim(0, 1.05)
        bars.set_ylabel("accuracy")
        bars.set_title(f"within each {dim}")
        bars.legend(fontsize="small", loc="best")
    return fig


_ERRORBARS = ("sd", "se", "ci95")


def _half_width(std: pd.Series, count: pd.Series, errorbar: str) -> np.ndarray:
    """Error-bar half-widths from the standard deviation and count of each point."""
    std, count = std.to_numpy(float), count.to_numpy(float)
    if errorbar == "sd":
        return std
    se = std / np.sqrt(count)
    if errorbar == "se":
        return se
    from scipy import stats

    with np.errstate(invalid="ignore"):
        return stats.t.ppf(0.975, np.maximum(count - 1, 1)) * se


def plot_tradeoff(
    table: pd.DataFrame,
    *,
    x: str = "recon",
    y: str = "accuracy",
    hue: str = "method",
    order_by: str = "beta",
    hue_order=None,
    palette=None,
    ax: Axes | None = None,
    figsize: tuple[float, float] = (5.0, 4.0),
    errorbar: str = "sd",
):
    """Two metrics against each other, one line per method through increasing beta.

    Each line joins a method's points in order of ``order_by``, with arrows from small
    to large values; its first and last points are labelled with their value. Rows with
    the same method and ``order_by`` (e.g. several seeds) are averaged, with error bars
    on both axes (one standard deviation by default, see ``errorbar``).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per fit, with columns ``hue``, ``order_by``, ``x`` and ``y``.
    x, y : str, default="recon", "accuracy"
        Numeric columns on the horizontal and vertical axes.
    hue : str, default="method"
        Column whose values each get a line.
    order_by : str, default="beta"
        Numeric column that orders the points along each line.
    hue_order : sequence, optional
        Lines to draw and their order (default: order of appearance in ``table``).
    palette : str or sequence, optional
        Seaborn palette of the lines (default ``"tab10"``).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    figsize : (float, float), default=(5, 4)
        Size of a new figure.
    errorbar : {"sd", "se", "ci95"}, default="sd"
        Half-width of the error bars over the repeated rows of a point (n of them): one
        standard deviation, one standard error (sd / sqrt(n)), or the half-width of the
        95% Student-t interval of the mean (t_{0.975, n-1} sd / sqrt(n)).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"method": ["poe"] * 3 + ["mmvm"] * 3,
    ...                       "beta": [0.1, 1.0, 10.0] * 2,
    ...                       "recon": [1.0, 2.0, 4.0, 1.2, 1.5, 2.5],
    ...                       "accuracy": [0.5, 0.6, 0.7, 0.6, 0.75, 0.8]})
    >>> fig = plot_tradeoff(table)
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['poe', 'mmvm']
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    for role, column in (("x", x), ("y", y), ("hue", hue), ("order_by", order_by)):
        if column not in table.columns:
            raise ValueError(
                f"{role}={column!r} is not a column of table; columns: "
                f"{', '.join(map(str, table.columns))}"
            )
    for role, column in (("x", x), ("y", y), ("order_by", order_by)):
        if not pd.api.types.is_numeric_dtype(table[column]) or pd.api.types.is_bool_dtype(
            table[column]
        ):
            raise ValueError(
                f"{role}={column!r}: column must be numeric, got dtype {table[column].dtype}"
            )
    if len(table) == 0:
        raise ValueError("table has no rows")
    if errorbar not in _ERRORBARS:
        raise ValueError(f"errorbar must be one of {_ERRORBARS}, got {errorbar!r}")
    present = list(pd.unique(table[hue]))
    if hue_order is None:
        hue_order = present
    else:
        unknown = [h for h in hue_order if h not in present]
        if unknown:
            raise ValueError(
                f"hue_order: {', '.join(map(repr, unknown))} not in table[{hue!r}] "
                f"({', '.join(map(repr, present))})"
            )
    colors = sns.color_palette(
        palette or ("tab10" if len(hue_order) <= 10 else "husl"), n_colors=len(hue_order)
    )

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    fig = ax.figure
    stats = table.groupby([hue, order_by], sort=False)[[x, y]].agg(["mean", "std", "count"])
    for method, color in zip(hue_order, colors, strict=True):
        points = stats.loc[method].sort_index()
        xs, ys = points[(x, "mean")].to_numpy(), points[(y, "mean")].to_numpy()
        ax.plot(xs, ys, "-o", color=color, label=str(method), markersize=4, linewidth=1)
        if (points[(x, "count")] > 1).any():
            ax.errorbar(
                xs,
                ys,
                xerr=_half_width(points[(x, "std")], points[(x, "count")], errorbar),
                yerr=_half_width(points[(y, "std")], points[(y, "count")], errorbar),
                fmt="none",
                ecolor=color,
                elinewidth=0.8,
                alpha=0.6,
            )
        for k in range(len(xs) - 1):
            ax.annotate(
                "",
                xy=(xs[k + 1], ys[k + 1]),
                xytext=(xs[k], ys[k]),
                arrowprops={"arrowstyle": "-|>", "color": color, "shrinkA": 4, "shrinkB": 4},
            )
        values = points.index.to_numpy()
        for k in sorted({0, len(xs) - 1}):
            ax.annotate(
                f"{order_by}={values[k]:g}",
                (xs[k], ys[k]),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize="x-small",
                color=color,
            )
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{y} against {x}, by {order_by}")
    ax.legend(title=hue, fontsize="small")
    return fig
