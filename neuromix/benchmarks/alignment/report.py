"""Tables, the issue's targets and the markdown report of the alignment benchmark.

Its figures are drawn by :mod:`neuromix.benchmarks.alignment.figures`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from neuromix._atomic import write_atomic
from neuromix.benchmarks.alignment.figures import LABELS as _LABELS
from neuromix.benchmarks.alignment.figures import plot_summary, plot_transfer
from neuromix.benchmarks.alignment.scoring import seed_interval
from neuromix.benchmarks.alignment.settings import VAE_METHODS, AlignmentSetting

__all__ = ["check_targets", "flat_table", "summarise"]

_SUMMARIES = ("within", "transfer", "worst_pair", "worst_margin", "chance")
_MMVM = ("mmvm-pairwise", "mmvm-mc")


def flat_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per run with scalar columns only (intervals as ``<name>_low/_high``)."""
    rows = []
    for _, r in table.iterrows():
        row = {k: r[k] for k in ("dataset", "seed", "method")}
        for name in _SUMMARIES:
            row[name] = r[name]
            row[f"{name}_low"], row[f"{name}_high"] = r[f"{name}_ci"]
        for k in ("shuffled", "fit_seconds", "score_seconds", "seconds", "latent_dim", "split",
                  "bits_per_spike", "bps_fraction"):  # fmt: skip
            row[k] = r.get(k, np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(flat: pd.DataFrame, setting: AlignmentSetting) -> pd.DataFrame:
    """Per (dataset, method): the first seed's values with their intervals over trials,
    and the mean over seeds with its interval over seeds."""
    rows = []
    for dataset in setting.datasets:
        for method in setting.methods:
            part = flat[(flat.dataset == dataset) & (flat.method == method)]
            if part.empty:
                continue
            first = part[part.seed == part.seed.min()].iloc[0]
            row = {
                "dataset": dataset,
                "method": method,
                "n_seeds": len(part),
                "first_seed": int(first.seed),
            }
            for name in _SUMMARIES:
                row[f"{name}_seed0"] = first[name]
                row[f"{name}_seed0_low"] = first[f"{name}_low"]
                row[f"{name}_seed0_high"] = first[f"{name}_high"]
                row[name] = part[name].mean()
                row[f"{name}_low"], row[f"{name}_high"] = seed_interval(part[name])
            row["shuffled"] = part["shuffled"].mean()
            row["fit_seconds"] = part["fit_seconds"].mean()
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- targets
def _runs(table, dataset, method):
    return table[(table.dataset == dataset) & (table.method == method)].sort_values("seed")


def _common(a: pd.DataFrame, b: pd.DataFrame, column: str):
    seeds = sorted(set(a.seed) & set(b.seed))
    return (
        float(a[a.seed.isin(seeds)][column].mean()),
        float(b[b.seed.isin(seeds)][column].mean()),
        seeds,
    )


def check_targets(table: pd.DataFrame) -> list[dict]:
    """The issue's targets on the simulated rats, for each MMVM estimator run.

    Every value is a mean over the seeds run (the issue asks for three): (1) MMVM
    transfer >= 0.95 x its within-subject accuracy; (2) no ordered pair of rats below
    chance + 0.10 (on the seed-averaged transfer matrix, chance being the test rat's
    majority-class rate); (3) MMVM within >= raw-window decoder - 0.03; (4) MMVM
    transfer > CEBRA transfer. (3) and (4) compare the seeds both methods were run on.
    """
    out = []
    raw, cebra = _runs(table, "rats", "raw"), _runs(table, "rats", "cebra")

    def add(method, target, value, threshold, ok, detail, seeds):
        status = "met" if ok else "missed"
        if len(seeds) < 3:
            detail += f" (over {len(seeds)} seed{'s' * (len(seeds) != 1)}; the issue asks for 3)"
        out.append(
            {
                "method": method,
                "target": target,
                "value": value,
                "threshold": threshold,
                "status": status,
                "detail": detail,
            }
        )

    def skip(method, target, why):
        out.append(
            {
                "method": method,
                "target": target,
                "value": np.nan,
                "threshold": np.nan,
                "status": "not checked",
                "detail": why,
            }
        )

    def versus(method, runs, peer, target, *, column, name, absent, margin=0.0, strict=False):
        """Targets (3) and (4): the mean ``column`` of ``runs`` at least (``strict``: above)
        that of ``peer`` less ``margin``, over the seeds both were run on. When ``peer``
        was not run, the target is not checked: ``absent`` says so."""
        if peer.empty:
            skip(method, target, absent)
            return
        mine, theirs, common = _common(runs, peer, column)
        threshold = theirs - margin
        ok = mine > threshold if strict else mine >= threshold
        add(
            method,
            target,
            mine,
            threshold,
            ok,
            f"{column} {mine:.3f}, {name} {theirs:.3f}",
            common,
        )

    for method in _MMVM:
        runs = _runs(table, "rats", method)
        if runs.empty:
            continue
        seeds = runs.seed.tolist()
        within, transfer = runs.within.mean(), runs.transfer.mean()
        add(
            method,
            "transfer >= 0.95 x within",
            transfer,
            0.95 * within,
            transfer >= 0.95 * within,
            f"transfer {transfer:.3f}, within {within:.3f}",
            seeds,
        )
        subjects = runs.subjects.iloc[0]
        if all(list(s) == list(subjects) for s in runs.subjects):
            matrix = np.mean([np.array(m, float) for m in runs.transfer_matrix], axis=0)
            chance = np.mean([np.array(c, float) for c in runs.chance_per_subject], axis=0)
            margin = matrix - chance[None, :]
            np.fill_diagonal(margin, np.inf)
            i, j = np.unravel_index(np.argmin(margin), margin.shape)
            add(
                method,
                "no ordered pair below chance + 0.10",
                matrix[i, j],
                chance[j] + 0.10,
                margin[i, j] >= 0.10,
                f"worst pair {subjects[i]} -> {subjects[j]}: {matrix[i, j]:.3f}, chance "
                f"{chance[j]:.3f}",
                seeds,
            )
        else:
            skip(method, "no ordered pair below chance + 0.10", "rats differ between seeds")
        versus(
            method,
            runs,
            raw,
            "within >= raw decoder - 0.03",
            column="within",
            name="raw",
            absent="the raw-window decoder was not run",
            margin=0.03,
        )
        versus(
            method,
            runs,
            cebra,
            "transfer > CEBRA transfer",
            column="transfer",
            name="CEBRA",
            absent="CEBRA was not run",
            strict=True,
        )
    return out


# --------------------------------------------------------------------------- markdown
def _fmt(value, low=np.nan, high=np.nan) -> str:
    if not np.isfinite(value):
        return "–"
    text = f"{value:.3f}"
    if np.isfinite(low) and np.isfinite(high):
        text += f" [{low:.2f}, {high:.2f}]"
    return text


def _md_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(lines)


def _params_text(table: pd.DataFrame, dataset: str, what: str) -> list[str]:
    part = table[(table.dataset == dataset) & table.method.isin(list(VAE_METHODS))]
    if part.empty or "params" not in part:
        return []
    lines = []
    first = None
    for method, runs in part.groupby("method", sort=False):
        params = [{k: v for k, v in p.items() if k != "seed"} for p in runs.params]
        if any(p != params[0] for p in params):
            lines.append(
                f"- **{method}: its parameters differ between seeds** (the package "
                "defaults changed during the benchmark?)"
            )
        if first is None:
            first = params[0]
            shown = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in first.items())
            lines.insert(
                0,
                f"{what} with these parameters ({method}; the package defaults "
                f"at run time plus the benchmark's settings; `seed` = the run's "
                f"seed): {shown}.",
            )
        else:
            diff = {k: v for k, v in params[0].items() if first.get(k) != v}
            shown = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in diff.items()) or "the same"
            lines.append(f"- {method}: {shown}")
    return lines


def _prediction_section(setting: AlignmentSetting, flat) -> list[str]:
    """Bits per spike of each rat's held-out counts predicted from the other rats' held-out
    trials of the same odor (``NeuralModel.cross_prediction``), per method."""
    if "bits_per_spike" not in flat:
        return []
    rats = flat[(flat.dataset == "rats") & flat.bits_per_spike.notna()]
    if rats.empty:
        return []
    rows = []
    for method in setting.methods:
        part = rats[rats.method == method]
        if part.empty:
            continue
        rows.append([
            _LABELS.get(method, method),
            _fmt(part.bits_per_spike.mean(), *seed_interval(part.bits_per_spike)),
            _fmt(part.bps_fraction.mean(), *seed_interval(part.bps_fraction)),
        ])  # fmt: skip
    return [
        "## Cross-subject prediction (simulated rats)",
        "",
        "Each rat's held-out counts predicted from every other rat's held-out trials of the "
        "same odor (the source's latent through the target's decoder), in bits per spike "
        "over each unit's mean rate (`NeuralModel.cross_prediction`), mean over ordered "
        "pairs and over seeds; fraction: that mean over the mean of the targets' odor-mean "
        "PSTH ceilings over the same pairs. PCA + Procrustes, "
        "SRM and CEBRA have no decoder of counts (their linear reconstructions are not "
        "rates, and CEBRA has none), so only the VAEs have this measure.",
        "",
        _md_table(["method", "bits per spike", "fraction of the PSTH"], rows),
        "",
    ]


def _report(setting: AlignmentSetting, table, flat, summary, targets, info) -> str:
    datasets = [d for d in setting.datasets if d in set(flat.dataset)]
    seeds = sorted(set(flat.seed))
    lines = [
        "# Alignment benchmark: the shared space against the best peer",
        "",
        f"Setting **{setting.name}** ({setting.cuts or 'see setting.json'}). Seeds "
        f"{', '.join(map(str, seeds))}; each seed is the simulator's, the split's, the "
        "model's and the decoder's. Every method is decoded the same way: "
        "`neuromix.evaluation.decode_labels` (standardised logistic regression) trained on a "
        "subject's latents of its training trials, scored on held-out trials of the same "
        "subject (within) and of every other subject (transfer, mean over ordered pairs).",
        "",
        f"{len(table)} runs; "
        + (
            f"this call took {info['seconds']:.0f} s on {info['machine']}."
            if info.get("seconds") is not None
            else f"report written from the stored runs on {info['machine']} (the wall time "
            "of each fit is in the tables)."
        ),
        *[f"\n**Note.** {n}" for n in info["notes"]],
        "",
        "## Summary (mean over seeds, 95% interval over seeds)",
        "",
    ]
    header = ["method"] + [f"{d} {k}" for d in datasets for k in ("within", "transfer")]
    rows = []
    for method in setting.methods:
        row = [_LABELS.get(method, method)]
        for d in datasets:
            s = summary[(summary.dataset == d) & (summary.method == method)]
            for k in ("within", "transfer"):
                row.append(_fmt(*s[[k, f"{k}_low", f"{k}_high"]].iloc[0]) if len(s) else "–")
        rows.append(row)
    chance = ["chance (majority class)"]
    for d in datasets:
        part = flat[flat.dataset == d].drop_duplicates("seed")
        chance += [_fmt(part.chance.mean(), *seed_interval(part.chance)), ""]
    rows.append(chance)
    lines += [_md_table(header, rows), ""]
    lines += _prediction_section(setting, flat)
    lines += ["## Targets of the issue (simulated rats)", ""]
    if targets:
        lines.append(
            _md_table(
                ["method", "target", "status", "detail"],
                [[t["method"], t["target"], f"**{t['status']}**", t["detail"]] for t in targets],
            )
        )
    else:
        lines.append("No MMVM run on the rats: nothing to check.")
    lines.append("")
    for d in datasets:
        part = summary[summary.dataset == d]
        s0 = int(part.first_seed.min())
        lines += [
            f"## {d}",
            "",
            f"Seed {s0} with its 95% interval over held-out trials (a joint bootstrap: each "
            "draw resamples every subject's held-out trials and recomputes the mean, so it "
            "is an interval of the mean); mean over seeds with its 95% interval over seeds "
            "(mean +- t sd / sqrt(n)). Worst pair: the lowest ordered-pair transfer; chance: "
            "the majority-class rate of the held-out labels (mean over subjects); shuffled: "
            "the decoder trained on labels permuted between trials. The bootstrap interval "
            "of the worst pair, a minimum over pairs, is biased low (the minimum of noisy "
            "accuracies is).",
            "",
        ]
        rows = []
        for _, r in part.iterrows():
            rows.append(
                [
                    _LABELS.get(r.method, r.method),
                    _fmt(r.within_seed0, r.within_seed0_low, r.within_seed0_high),
                    _fmt(r.within, r.within_low, r.within_high),
                    _fmt(r.transfer_seed0, r.transfer_seed0_low, r.transfer_seed0_high),
                    _fmt(r.transfer, r.transfer_low, r.transfer_high),
                    _fmt(r.worst_pair_seed0, r.worst_pair_seed0_low, r.worst_pair_seed0_high),
                    _fmt(r.worst_pair, r.worst_pair_low, r.worst_pair_high),
                    _fmt(r.chance_seed0, r.chance_seed0_low, r.chance_seed0_high),
                    _fmt(r.shuffled),
                    f"{r.fit_seconds:.1f}" if np.isfinite(r.fit_seconds) else "–",
                    int(r.n_seeds),
                ]
            )
        lines += [
            _md_table(
                [
                    "method",
                    f"within, seed {s0}",
                    "within, seeds",
                    f"transfer, seed {s0}",
                    "transfer, seeds",
                    f"worst pair, seed {s0}",
                    "worst pair, seeds",
                    f"chance, seed {s0}",
                    "shuffled",
                    "fit s",
                    "seeds",
                ],
                rows,
            ),
            "",
        ]
        digests = flat[flat.dataset == d].groupby("seed").split.nunique()
        same = bool((digests == 1).all())
        lines += [
            "Held-out trials: "
            + (
                "the same for every method of a seed (checked)."
                if same
                else f"**differ between methods of a seed**: {digests.to_dict()}"
            ),
            "",
        ]
    if "rats" in datasets:
        lines += ["![transfer matrices](transfer_rats.png)", ""]
    lines += ["![within and transfer](summary.png)", "", "## Settings of every method", ""]
    lines += _params_text(table, "rats", 'Rats: `neuromix.fit(rec, subject_dim="rat", ...)`')
    lines += ["", *_params_text(table, "multiview", "Multiview: `neuromix.MultimodalVAE`")]
    lines += [
        "",
        'Aggregation methods (AVG, PoE, MoE, MoPoE) get `rate_scale="subjects"` (the '
        "paper's M x KL) when the estimator has that parameter; MMVM is run with both "
        "rate estimators (`method_params` `estimator` pairwise and mc, merged into the "
        "default `method_params`).",
        "",
    ]
    cebra = table[table.method == "cebra"]
    if len(cebra):
        options = cebra.iloc[0]["options"]
        shown = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in options.items())
        lines += [
            f"- **CEBRA** {cebra.iloc[0]['cebra']} multi-session (one session per subject), "
            "supervised by the odor / class (discrete, coded as integers), on the same "
            "flattened windows and training trials as neuromix, each row embedded with its "
            f"own session: {shown}. numpy's and torch's global generators are seeded with "
            "the run's seed. Fit time is CEBRA's `fit` alone.",
        ]
    lines += [
        "- **PCA + Procrustes**: per subject, PCA (fitted on its training windows) to the "
        "latent size; the training windows averaged per (odor, window index) cell -- the "
        "condition-averaged trajectories -- are centred and rotated by generalised "
        "Procrustes onto the mean of all subjects' (orthogonal maps, no scaling; the "
        "reference starts as the first subject and is iterated to the mean).",
        "- **SRM**: a deterministic shared response model in numpy (brainiak is not a "
        "dependency): orthonormal W_i (features x k) and shared S (k x cells) fitted on the "
        "centred training condition means, alternating W_i = U V^T from svd(X_i S^T) and "
        "S = mean_i W_i^T X_i, S initialised from the stacked data's top right singular "
        "vectors; windows mapped with W_i^T after the same centring.",
        "- **raw windows**: the same decoder on each subject's raw flattened windows "
        "(within subjects only: their sizes differ), the ceiling of within-subject decoding.",
        "",
        "Files: `runs/*.json` (one per run: every number above, the per-pair matrices and "
        "intervals, the parameters), `table.csv` (one row per run), `summary.csv`, "
        "`setting.json`.",
        "",
    ]
    return "\n".join(lines)


def write_report(out: Path, setting: AlignmentSetting, table: pd.DataFrame, info: dict):
    """``table.csv``, ``summary.csv``, the figures and ``alignment.md`` in ``out``."""
    import matplotlib.pyplot as plt

    flat = flat_table(table)
    summary = summarise(flat, setting)
    targets = check_targets(table)

    def text_file(name, text):
        write_atomic(out / name, lambda tmp: tmp.write_text(text), overwrite=True)

    text_file("table.csv", flat.to_csv(index=False))
    text_file("summary.csv", summary.to_csv(index=False))
    figures = {"summary.png": plot_summary(summary)}
    if "rats" in set(table.dataset):
        figures["transfer_rats.png"] = plot_transfer(table, dataset="rats")
    for name, fig in figures.items():
        write_atomic(
            out / name,
            lambda tmp, fig=fig: fig.savefig(tmp, dpi=120, format="png"),
            overwrite=True,
        )
        plt.close(fig)
    text_file("alignment.md", _report(setting, table, flat, summary, targets, info))
    return summary, targets
