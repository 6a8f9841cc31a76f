"""Tables, targets, the leave-one-dataset-out choice and the markdown report of the suite."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from neuromix._atomic import write_atomic as _write_atomic
from neuromix.benchmarks.suite.datasets import SUITE, get_dataset
from neuromix.benchmarks.suite.settings import REFERENCES, SuiteSetting

__all__ = [
    "candidate_table", "leave_one_out", "results_table", "targets", "vs_reference", "write_report",
]  # fmt: skip

#: The peers MMVM's transfer must reach (the issue's "best of PCA + Procrustes, SRM and
#: CEBRA").
ALIGNERS = ("procrustes", "srm", "cebra")
#: Margins of the targets.
MARGIN = 0.02
RATS_FLOOR = 0.68
#: The suite's datasets of simulated rats (the rats target is theirs).
RAT_DATASETS = frozenset(d.name for d in SUITE if d.kind == "rats")


def _metric(table: pd.DataFrame, method: str, name: str) -> pd.Series:
    rows = table[table["method"] == method].set_index("dataset")
    if name not in rows:
        return pd.Series(dtype=float)
    return pd.to_numeric(rows[name], errors="coerce")


def results_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, method): within, transfer, worst pair, chance, fit time."""
    cols = ["dataset", "method", "within", "transfer", "worst_pair", "worst_margin", "chance",
            "fit_seconds", "beta", "best_epoch", "epochs_trained"]  # fmt: skip
    present = [c for c in cols if c in table]
    return table[present].copy()


def candidate_table(table: pd.DataFrame, method: str = "mmvm") -> pd.DataFrame:
    """Per dataset and beta of a ``beta="auto"`` fit: the candidate's scores (what a fit
    at that fixed beta, with early stopping, gives) and whether it was chosen."""
    rows = []
    for r in table[table["method"] == method].itertuples():
        candidates = getattr(r, "candidates", None)
        if not isinstance(candidates, list):
            continue
        for c in candidates:
            rows.append({"dataset": r.dataset, **c, "chosen": np.isclose(c["beta"], r.beta)})
    return pd.DataFrame(rows)


def _quality(within, transfer):
    """The number a default is chosen by: the mean of within and transfer accuracy
    (both must hold; a collapsed or mirrored space loses one or the other)."""
    return (np.asarray(within, float) + np.asarray(transfer, float)) / 2


def leave_one_out(options: pd.DataFrame) -> pd.DataFrame:
    """Choose a default on all datasets but one, score it on the one left out.

    Parameters
    ----------
    options : pandas.DataFrame
        Columns ``dataset``, ``option`` (e.g. ``"beta=4"`` or ``"auto"``), ``within``,
        ``transfer``; one row per dataset and option (options missing on a dataset are
        not chosen while it is in the training set).

    Returns
    -------
    pandas.DataFrame
        Per left-out dataset: the option chosen on the others (best mean of within and
        transfer over them), its within and transfer on the left-out dataset, and the
        best option there in hindsight.

    Examples
    --------
    >>> opts = pd.DataFrame({"dataset": list("aabbcc"), "option": ["x", "y"] * 3,
    ...                      "within": [.9, .8, .9, .8, .5, .9], "transfer": [.9, .8] * 3})
    >>> leave_one_out(opts)[["left_out", "chosen"]].values.tolist()
    [['a', 'y'], ['b', 'y'], ['c', 'x']]
    """
    options = options.copy()
    options["quality"] = _quality(options["within"], options["transfer"])
    wide = options.pivot(index="dataset", columns="option", values="quality")
    rows = []
    for left in wide.index:
        rest = wide.drop(index=left).dropna(axis=1, how="any")
        if rest.empty:
            continue
        chosen = rest.mean(axis=0).idxmax()
        here = options[(options["dataset"] == left) & (options["option"] == chosen)]
        best = wide.loc[left].idxmax()
        rows.append(
            {
                "left_out": left,
                "chosen": chosen,
                "within": float(here["within"].iloc[0]) if len(here) else np.nan,
                "transfer": float(here["transfer"].iloc[0]) if len(here) else np.nan,
                "best_in_hindsight": best,
                "quality": float(wide.loc[left, chosen]),
                "best_quality": float(wide.loc[left].max()),
            }
        )
    return pd.DataFrame(rows)


def vs_reference(within: float, transfer: float, references) -> tuple[float, float, bool]:
    """The first target: ``within`` and ``transfer`` at least the references' best, score
    by score (within from one reference, transfer from another if they differ), minus
    :data:`MARGIN`.

    ``references``: (within, transfer) pairs, e.g. of the minimal MMVM at beta 1 and 10.
    Returns the best within, the best transfer and whether the target is met.

    Examples
    --------
    >>> vs_reference(0.70, 0.60, [(0.71, 0.50), (0.60, 0.61)])
    (0.71, 0.61, True)
    >>> vs_reference(0.68, 0.60, [(0.71, 0.50)])[2]
    False
    """
    ref_w = max(w for w, _ in references)
    ref_t = max(t for _, t in references)
    return ref_w, ref_t, bool(within >= ref_w - MARGIN and transfer >= ref_t - MARGIN)


def targets(table: pd.DataFrame, method: str = "mmvm") -> pd.DataFrame:
    """The issue's targets for ``method`` per dataset: met (True), missed (False) or not
    measured (NaN), with the numbers they compare."""
    within, transfer = _metric(table, method, "within"), _metric(table, method, "transfer")
    margin = _metric(table, method, "worst_margin")
    rows = []
    for d in within.index:
        row = {"dataset": d, "within": within[d], "transfer": transfer[d]}
        refs = [r for r in REFERENCES if d in _metric(table, r, "within").index]
        if refs:
            scores = [
                (_metric(table, r, "within")[d], _metric(table, r, "transfer")[d]) for r in refs
            ]
            ref_w, ref_t, met = vs_reference(within[d], transfer[d], scores)
            row["reference"] = f"{ref_w:.3f} / {ref_t:.3f}"
            row["vs reference"] = met
        if np.isfinite(transfer[d]):
            row["transfer >= 0.95 within"] = bool(transfer[d] >= 0.95 * within[d])
        peers = [
            _metric(table, p, "transfer")[d]
            for p in ALIGNERS
            if d in _metric(table, p, "transfer").index
        ]
        if peers and np.isfinite(transfer[d]):
            row["best aligner"] = float(np.nanmax(peers))
            row["vs aligners"] = bool(transfer[d] >= np.nanmax(peers))
        raw = _metric(table, "raw", "within")
        if d in raw.index:
            row["raw"] = float(raw[d])
            row["vs raw"] = bool(within[d] >= raw[d] - MARGIN)
        if d in margin.index and np.isfinite(margin[d]):
            row["worst pair - chance"] = float(margin[d])
            row["pairs above chance + 0.10"] = bool(margin[d] >= 0.10)
        prev_w = _metric(table, "mmvm-previous", "within")
        if d in prev_w.index:
            prev_t = _metric(table, "mmvm-previous", "transfer")[d]
            row["previous"] = f"{prev_w[d]:.3f} / {prev_t:.3f}"
            ok_t = not np.isfinite(prev_t) or transfer[d] >= prev_t - MARGIN
            row["vs previous"] = bool(within[d] >= prev_w[d] - MARGIN and ok_t)
        if d in RAT_DATASETS:
            row["rats >= 0.68"] = bool(within[d] >= RATS_FLOOR and transfer[d] >= RATS_FLOOR)
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(value, digits=3) -> str:
    if isinstance(value, bool | np.bool_):
        return "met" if value else "**missed**"
    if isinstance(value, float | np.floating):
        return "–" if not np.isfinite(value) else f"{value:.{digits}f}"
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return str(value)


def _markdown(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(nothing yet)\n"
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _overview(table: pd.DataFrame, methods) -> pd.DataFrame:
    """Datasets x methods: "within / transfer" (raw: within only)."""
    rows = []
    for d in dict.fromkeys(table["dataset"]):
        row = {"dataset": d}
        for m in methods:
            hit = table[(table["dataset"] == d) & (table["method"] == m)]
            if hit.empty:
                row[m] = "–"
                continue
            w, t = float(hit["within"].iloc[0]), float(hit["transfer"].iloc[0])
            row[m] = f"{w:.2f}" if not np.isfinite(t) else f"{w:.2f} / {t:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def write_report(out, setting: SuiteSetting, table: pd.DataFrame, info: dict) -> Path:
    """Write ``table.csv``, ``candidates.csv``, ``leave_one_out.csv`` and ``suite.md``."""
    out = Path(out)
    if table.empty:
        text = f"# Datasets suite\n\nNo run of setting {setting.name!r} has finished yet.\n"
        write_atomic(out / "suite.md", text)
        return out / "suite.md"
    plain = results_table(table)
    write_atomic(out / "table.csv", plain.to_csv(index=False))
    methods = [m for m in setting.methods if m in set(table["method"])]
    lines = [
        "# Datasets suite: the defaults on data nobody tuned them on",
        "",
        f"Setting `{setting.name}` ({setting.cuts}) on {info.get('machine', '')}.",
    ]
    if info.get("seconds") is not None:
        lines.append(f"This run took {info['seconds'] / 3600:.2f} h.")
    lines += [*(f"\n{n}" for n in info.get("notes", [])), ""]
    lines += [
        "## Datasets",
        "",
        _markdown(
            pd.DataFrame([{"dataset": d, "what": get_dataset(d).what} for d in setting.datasets])
        ),
        "## Decoding: within / transfer per dataset",
        "",
        "Held-out trials; logistic regression on each method's latents (raw: on the "
        "windows, within subjects only). `mmvm` is `neuromix.fit` (or `MultimodalVAE` for "
        "multiview) at its defaults, `mmvm-previous` at the defaults before the suite, "
        "`reference-b1`/`-b10` the minimal MMVM of the reference note at beta 1 and 10.",
        "",
        _markdown(_overview(table, methods)),
        "## Every number",
        "",
        _markdown(plain.round(3)),
    ]
    mm = plain[plain["method"] == "mmvm"].set_index("dataset")
    peers = plain[plain["method"].isin((*ALIGNERS, *REFERENCES))]
    if not mm.empty and not peers.empty:
        best = peers.groupby("dataset")["transfer"].max()
        diff = (mm["transfer"] - best).dropna()
        if len(diff):
            lines += [
                "## MMVM against the best baseline",
                "",
                f"Minimum over datasets of MMVM's transfer minus the best baseline's "
                f"(aligners and references): **{diff.min():+.3f}** ({diff.idxmin()}); "
                f"median {diff.median():+.3f}.",
                "",
            ]
    cand = candidate_table(table)
    if not cand.empty:
        write_atomic(out / "candidates.csv", cand.to_csv(index=False))
        wide = cand.pivot(index="dataset", columns="beta", values="transfer")
        lines += [
            "## beta='auto' against fixed beta",
            "",
            "Transfer of each candidate beta of the selection, at the epoch it was kept, "
            "and of the automatic choice. Successive halving culls the worse half of "
            "the candidates after `min_epochs` (10) and twice as many epochs, and the "
            "candidates stop together once none has improved the best validation "
            "criterion of the grid for `patience` epochs, so a beta that was not chosen "
            "was cut before its own early stop: its numbers are a lower bound for a fit "
            "at that beta alone, and the leave-one-dataset-out below is made on them. "
            "Fits at fixed betas, each stopped on its own, are made by "
            "`benchmarks/suite_variants.py` (docs/results/suite/variants: there, chosen "
            "on the other datasets, `auto` won for every dataset left out).",
            "",
            _markdown(_auto_vs_fixed(cand)),
        ]
        options = _options(cand)
        loo = leave_one_out(options)
        write_atomic(out / "leave_one_out.csv", loo.to_csv(index=False))
        summary = options.groupby("option")[["within", "transfer"]].agg(["mean", "min"])
        summary.columns = [f"{a} {b}" for a, b in summary.columns]
        lines += [
            "Mean and minimum over datasets, per option:",
            "",
            _markdown(summary.reset_index()),
            "## Leave one dataset out",
            "",
            "The option (auto or a candidate beta, as above) chosen on all datasets but "
            "one, by the mean of within and transfer, scored on the one left out:",
            "",
            _markdown(loo),
        ]
        del wide
    tg = targets(plain)
    if not tg.empty:
        lines += ["## Targets", "", _markdown(tg)]
    lines += _seed_targets(out)
    _figures(out, plain, cand, [d for d in setting.datasets if d in set(plain["dataset"])])
    lines += [
        "## Figures",
        "",
        "`summary.png`: within and transfer per dataset (neuromix at its defaults and "
        "before them, the minimal MMVM, the best aligner, the raw windows, chance); "
        "`beta.png`: every beta of the selection per dataset, the automatic choice framed.",
        "",
    ]
    text = "\n".join(lines) + "\n"
    write_atomic(out / "suite.md", text)
    write_atomic(out / "summary.json", json.dumps({"datasets": list(setting.datasets)}))
    return out / "suite.md"


def _seed_targets(out: Path) -> list[str]:
    r"""The report's section on the first target over model seeds, from
    ``variants/seeds_targets.csv`` (``benchmarks/suite_variants.py --report``); none
    when the file is absent.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> (out / "variants").mkdir()
    >>> _ = (out / "variants" / "seeds_targets.csv").write_text(
    ...     "dataset,ref_within,ref_transfer,within,transfer,seeds,target\n"
    ...     "a,0.7,0.6,0.71,0.5,3,missed\n")
    >>> print(_seed_targets(out)[-1])
    | dataset | ref_within | ref_transfer | within | transfer | seeds | target |
    |---|---|---|---|---|---|---|
    | a | 0.700 | 0.600 | 0.710 | 0.500 | 3 | **missed** |
    <BLANKLINE>
    """
    path = Path(out) / "variants" / "seeds_targets.csv"
    if not path.is_file():
        return []
    over = pd.read_csv(path)
    over["target"] = over["target"] == "met"
    return [
        "## The first target over model seeds",
        "",
        "The targets above compare one fit per dataset. The minimal MMVM itself moves by "
        f"more than their margin ({MARGIN}) between model seeds on several datasets "
        "(`variants/reference_switches.jsonl`), so `benchmarks/suite_variants.py "
        "--report` also compares the means over model seeds 0-2 of both, on the same "
        "split: the defaults (the runs above, `variants/seed1`, `variants/seed2`) "
        "against the reference's better beta per score (`variants/seeds_targets.csv`).",
        "",
        _markdown(over),
    ]


def _figures(out: Path, plain: pd.DataFrame, cand: pd.DataFrame, datasets) -> None:
    import matplotlib.pyplot as plt

    from neuromix.benchmarks.suite.figures import beta_figure, summary_figure

    figures = {"summary.png": summary_figure(plain, datasets)}
    if not cand.empty:
        figures["beta.png"] = beta_figure(cand, [d for d in datasets if d in set(cand.dataset)])
    for name, fig in figures.items():
        _write_atomic(
            out / name, lambda tmp, fig=fig: fig.savefig(tmp, dpi=110, format="png"),
            overwrite=True,
        )  # fmt: skip
        plt.close(fig)


def write_atomic(path, text: str) -> Path:
    """Replace ``path`` by ``text``, atomically."""
    return _write_atomic(path, lambda tmp: tmp.write_text(text), overwrite=True)


def _auto_vs_fixed(cand: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for d, part in cand.groupby("dataset", sort=False):
        row = {"dataset": d}
        for c in part.itertuples():
            row[f"beta={c.beta:g}"] = f"{c.transfer:.2f}"
        chosen = part[part["chosen"]]
        row["auto"] = f"{chosen['transfer'].iloc[0]:.2f} (beta {chosen['beta'].iloc[0]:g})"
        rows.append(row)
    return pd.DataFrame(rows)


def _options(cand: pd.DataFrame) -> pd.DataFrame:
    fixed = cand.assign(option=[f"beta={b:g}" for b in cand["beta"]])
    auto = cand[cand["chosen"]].assign(option="auto")
    return pd.concat([fixed, auto])[["dataset", "option", "within", "transfer"]]
