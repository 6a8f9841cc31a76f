"""The PolyMNIST figures: the paper's Figure 2 (and, with ``x="recon_self"``, its
appendix Figure 7), drawn by :func:`plot_figure2`, and its Figure 6 of conditional
generation, drawn by :func:`plot_conditional_generation` from the generations a fit
saves (:func:`load_generations`, :func:`save_figure6`)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from neuromix._atomic import write_atomic
from neuromix.benchmarks.polymnist.settings import _CHANCE, METHODS

__all__ = [
    "load_generations",
    "plot_conditional_generation",
    "plot_figure2",
    "save_figure6",
]

_ERRORBAR_TEXT = {
    "sd": "one standard deviation",
    "se": "one standard error",
    "ci95": "the 95% Student-t interval of the mean",
}
#: White pixels between the images of a row of :func:`plot_conditional_generation`.
GAP = 2


def _method_order(methods) -> list[str]:
    present = list(pd.unique(pd.Series(list(methods))))
    return [m for m in METHODS if m in present] + [m for m in present if m not in METHODS]


def plot_figure2(
    table: pd.DataFrame,
    *,
    x: str = "recon",
    reference: float | None = None,
    data: str = "PolyMNIST",
    likelihood: str | None = None,
    errorbar: str = "se",
):
    """The paper's Figure 2: ``x`` against probe accuracy (left) and coherence (right).

    One line per method through its seed-averaged points in order of increasing beta
    (arrows from small to large beta), with error bars over seeds on both axes, drawn
    by :func:`neuromix.plotting.decoding.plot_tradeoff`; chance (0.1) dashed when it lies
    near the points (else named in the axis label); ``reference`` (e.g. the probe on
    principal components of the pixels) dotted on the left panel.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per fit: ``method``, ``beta``, ``seed``, ``x``, ``accuracy``, ``coherence``.
    x : {"recon", "recon_self"}, default="recon"
        Joint reconstruction error (Figure 2) or self-reconstruction error (Figure 7).
    reference : float, optional
        Accuracy of a reference probe, drawn as a dotted line.
    data : str, default="PolyMNIST"
        Name of the data set in the title (e.g. ``"translated PolyMNIST"``).
    likelihood : str, optional
        Name of the likelihood in the axis label (e.g. ``"Gaussian"``).
    errorbar : {"sd", "se", "ci95"}, default="se"
        Error bars over seeds (see :func:`~neuromix.plotting.decoding.plot_tradeoff`);
        the title says which.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> table = pd.DataFrame({"method": ["avg"] * 4 + ["mmvm"] * 4,
    ...     "beta": [1.0, 1.0, 2.0, 2.0] * 2, "seed": [0, 1] * 4,
    ...     "recon": [3.0, 3.2, 4.0, 4.1, 2.0, 2.2, 3.0, 3.3],
    ...     "accuracy": [0.5, 0.6, 0.6, 0.7, 0.7, 0.8, 0.8, 0.9],
    ...     "coherence": [0.3, 0.4, 0.4, 0.5, 0.5, 0.6, 0.6, 0.7]})
    >>> fig = plot_figure2(table, data="PolyMNIST", likelihood="Gaussian")
    >>> fig.axes[0].get_xlabel()
    'reconstruction error (Gaussian NLL per tuple, sum over modalities)'
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    import matplotlib.pyplot as plt

    from neuromix.plotting.decoding import plot_tradeoff

    order = _method_order(table["method"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), layout="constrained")
    what = "self-reconstruction error" if x == "recon_self" else "reconstruction error"
    nll = f"{likelihood} NLL" if likelihood else "NLL"
    for ax, (y, title) in zip(
        axes,
        (("accuracy", "latent representation (linear probe)"), ("coherence", "coherence")),
        strict=True,
    ):
        plot_tradeoff(
            table,
            x=x,
            y=y,
            hue="method",
            order_by="beta",
            hue_order=order,
            ax=ax,
            errorbar=errorbar,
        )
        # chance is drawn when it lies near the points; far below them it would squeeze
        # their differences into a sliver of the axis, so the label names it instead
        lo, hi = ax.get_ylim()
        chance_shown = _CHANCE >= lo - 0.5 * (hi - lo)
        if chance_shown:
            ax.axhline(_CHANCE, color="0.6", linestyle="--", linewidth=0.8, zorder=0)
        if reference is not None and y == "accuracy":
            ax.axhline(reference, color="0.3", linestyle=":", linewidth=1.0, zorder=0)
            ax.annotate(
                "probe on PCA of the pixels",
                (0.01, reference),
                xycoords=("axes fraction", "data"),
                fontsize=7,
                va="bottom",
            )
        ax.set_title(title)
        ax.set_xlabel(f"{what} ({nll} per tuple, sum over modalities)")
        ax.set_ylabel(f"{y} (test)" if chance_shown else f"{y} (test; chance {_CHANCE:g})")
    axes[1].get_legend().remove()
    # the legend beside the panels, where it hides no point
    legend = axes[0].get_legend()
    handles, labels = legend.legend_handles, [t.get_text() for t in legend.get_texts()]
    legend.remove()
    fig.legend(handles, labels, title="method", loc="outside right center", fontsize=8)
    seeds = table.groupby(["method", "beta"])["seed"].nunique() if "seed" in table else None
    if seeds is not None and int(seeds.max()) > 1:
        n = f"{int(seeds.min())}" if seeds.min() == seeds.max() else f"{seeds.min()}-{seeds.max()}"
        bars = f"; points: means over {n} seeds, error bars: {_ERRORBAR_TEXT[errorbar]}"
    else:
        bars = "; one seed per point, no error bars"
    fig.suptitle(f"{data} (better: up and to the left){bars}", fontsize=10)
    return fig


# --------------------------------------------------------------------------- Figure 6
def load_generations(path) -> dict:
    """A file of conditional generations saved by a fit, checked.

    Parameters
    ----------
    path : str or path-like
        An ``.npz`` with ``generated`` (n_source, n_target, n_examples, channels, H, W),
        ``sources`` (n_source, n_examples, channels, H, W), both in [0, 1], ``labels``
        (n_examples,) and ``modalities`` (n_source,).

    Returns
    -------
    dict
        ``generated`` and ``sources`` as float32, ``labels`` as an array, ``modalities``
        as a list of str.
    """
    with np.load(path, allow_pickle=False) as f:
        missing = {"generated", "sources", "labels", "modalities"} - set(f.files)
        if missing:
            raise ValueError(f"{path}: missing arrays {sorted(missing)}")
        out = {
            "generated": np.asarray(f["generated"], dtype=np.float32),
            "sources": np.asarray(f["sources"], dtype=np.float32),
            "labels": np.asarray(f["labels"]),
            "modalities": [str(m) for m in f["modalities"]],
        }
    _check_generations(out["generated"], out["sources"], out["labels"], out["modalities"])
    return out


def _check_generations(generated, sources, labels, modalities) -> None:
    if generated.ndim != 6:
        raise ValueError(
            "generated must have shape (n_source, n_target, n_examples, channels, H, W), "
            f"got {generated.shape}"
        )
    n_source, _, n_examples = generated.shape[:3]
    if sources.shape != (n_source, n_examples, *generated.shape[3:]):
        raise ValueError(
            f"sources must have shape {(n_source, n_examples, *generated.shape[3:])} "
            f"to match generated {generated.shape}, got {sources.shape}"
        )
    if labels is not None and len(labels) != n_examples:
        raise ValueError(f"labels must have {n_examples} entries, got {len(labels)}")
    if modalities is not None and len(modalities) != generated.shape[1]:
        raise ValueError(
            f"modalities must name the {generated.shape[1]} targets, got {list(modalities)}"
        )


def _strip(images: np.ndarray) -> np.ndarray:
    """(n, channels, H, W) in [0, 1] -> one (H, n W + (n - 1) GAP, 3) image, white gaps."""
    images = np.clip(np.asarray(images, dtype=np.float32), 0.0, 1.0)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    n, _, h, w = images.shape
    out = np.ones((h, n * w + (n - 1) * GAP, 3), dtype=np.float32)
    for k, image in enumerate(images):
        out[:, k * (w + GAP) : k * (w + GAP) + w] = image.transpose(1, 2, 0)
    return out


def plot_conditional_generation(generated, sources, labels=None, modalities=None, *, title=None):
    """The paper's Figure 6 for one fit: every modality generated from every other one.

    One column of panels per source modality: the top panel shows the source images
    (one test tuple per image column, its digit in the title), the panels below the
    images of every target modality generated from that source alone (the target equal
    to the source is its self-reconstruction).

    Parameters
    ----------
    generated : array of shape (n_source, n_target, n_examples, channels, H, W)
        In [0, 1]; ``generated[i, j]`` is target ``j`` generated from source ``i``.
    sources : array of shape (n_source, n_examples, channels, H, W)
        The source images, in [0, 1].
    labels : sequence of length n_examples, optional
        Digits of the tuples.
    modalities : sequence of str, optional
        Names of the modalities (default ``m0``, ``m1``, ...).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Axes ``fig.axes[r * n_source + i]`` is row ``r`` of source ``i``: ``r = 0`` the
        sources, ``r = 1 + j`` target ``j``; each shows one image strip (images side by
        side, :data:`GAP` white pixels apart).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_conditional_generation(rng.random((2, 2, 3, 1, 28, 28)),
    ...                                   rng.random((2, 3, 1, 28, 28)), labels=[7, 2, 1])
    >>> len(fig.axes), fig.axes[0].get_title()
    (6, 'from m0 (digits 7 2 1)')
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    import matplotlib.pyplot as plt

    generated = np.asarray(generated, dtype=np.float32)
    sources = np.asarray(sources, dtype=np.float32)
    _check_generations(generated, sources, labels, modalities)
    n_source, n_target, n_examples = generated.shape[:3]
    names = [str(m) for m in modalities] if modalities is not None else None
    names = names or [f"m{m}" for m in range(n_target)]
    fig, axes = plt.subplots(
        1 + n_target,
        n_source,
        figsize=(0.42 * n_examples * n_source + 0.6, 0.5 * (1 + n_target) + 0.8),
        squeeze=False,
        layout="constrained",
    )
    for i in range(n_source):
        digits = f" (digits {' '.join(str(v) for v in labels)})" if labels is not None else ""
        axes[0, i].imshow(_strip(sources[i]), interpolation="nearest")
        axes[0, i].set_title(f"from {names[i]}{digits}", fontsize=8)
        for j in range(n_target):
            axes[1 + j, i].imshow(_strip(generated[i, j]), interpolation="nearest")
        for r in range(1 + n_target):
            ax = axes[r, i]
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                text = "source" if r == 0 else f"-> {names[r - 1]}"
                ax.set_ylabel(text, rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def _generation_file(folder: Path, method: str, beta: float, seed: int) -> Path:
    return folder / f"{method}-beta{beta:g}-seed{seed}.npz"


def save_figure6(out, table: pd.DataFrame, *, beta: float | None = None) -> dict:
    """Write ``figure6_{method}.png`` for each method whose generations were saved.

    For each method, at ``beta`` (default: its beta of the highest coherence, averaged
    over seeds), the fit of the smallest seed with a file
    ``out/generations/{method}-beta{beta:g}-seed{seed}.npz`` is drawn by
    :func:`plot_conditional_generation`; a method without such a file is skipped.

    Parameters
    ----------
    out : str or path-like
        The benchmark's output folder.
    table : pandas.DataFrame
        One row per fit: ``method``, ``beta``, ``seed``, ``coherence``.
    beta : float, optional
        The beta of every method's figure.

    Returns
    -------
    dict
        Per drawn method: ``{"beta": ..., "seed": ..., "file": "figure6_<method>.png",
        "coherence": ...}`` (the seed-mean coherence at that beta).
    """
    import matplotlib.pyplot as plt

    out = Path(out)
    folder = out / "generations"
    drawn = {}
    if not folder.is_dir() or not len(table):
        return drawn
    coherence = table.groupby(["method", "beta"])["coherence"].mean()
    for method in _method_order(table["method"]):
        per_beta = coherence.loc[method]
        chosen = float(per_beta.idxmax()) if beta is None else float(beta)
        if chosen not in per_beta.index:
            continue
        seeds = sorted(table[(table.method == method) & (table.beta == chosen)]["seed"])
        files = [(s, _generation_file(folder, method, chosen, s)) for s in seeds]
        files = [(s, f) for s, f in files if f.exists()]
        if not files:
            continue
        seed, path = files[0]
        g = load_generations(path)
        fig = plot_conditional_generation(
            g["generated"],
            g["sources"],
            g["labels"],
            g["modalities"],
            title=f"{method}, beta = {chosen:g}, seed {seed}: each modality from each one",
        )
        name = f"figure6_{method}.png"
        save = partial(fig.savefig, dpi=130, format="png")
        write_atomic(out / name, save, overwrite=True)
        plt.close(fig)
        drawn[method] = {
            "beta": chosen,
            "seed": int(seed),
            "file": name,
            "coherence": float(per_beta.loc[chosen]),
        }
    return drawn
