"""Held-out draws: the defaults on tasks drawn at random, which no choice has read.

The suite chose the defaults, and its leave-one-dataset-out table checks that choice on
each of its datasets in turn. This script checks it on data outside the suite: tasks of
:func:`neuromix.benchmarks.suite.datasets.draw_task`, every generator argument drawn at
random over the suite's ranges (the distribution was fixed before any draw was
fitted). Each draw is fitted by ``neuromix.fit`` at its defaults, by ``neuromix.fit``
with ``link="auto"``, by the minimal MMVM of the reference note at beta 1 and 10, and by
the raw-window decoder, PCA + Procrustes and SRM, and scored as the suite scores. CEBRA
and the previous defaults are left out, to keep a draw within minutes.

Resumable: each (draw, method) is written to ``<out>/runs/`` as it finishes, and a rerun
skips it. ``--report`` writes ``<out>/heldout.csv`` and ``<out>/heldout.md`` (the
suite's targets per draw, for the defaults and for ``link="auto"``) from the runs there::

    python benchmarks/suite_heldout.py --out docs/results/suite/heldout --draws 0-11
    python benchmarks/suite_heldout.py --out docs/results/suite/heldout --report
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

#: Benchmark name -> the suite method it runs and the fit parameters beyond the defaults.
METHODS = {
    "mmvm": ("mmvm", {}),
    "mmvm-link-auto": ("mmvm", {"link": "auto"}),
    "reference-b1": ("reference-b1", {}),
    "reference-b10": ("reference-b10", {}),
    "raw": ("raw", {}),
    "procrustes": ("procrustes", {}),
    "srm": ("srm", {}),
}
#: The columns of the targets table and of the run records kept in ``heldout.csv``.
KEPT = ("dataset", "method", "within", "transfer", "worst_pair", "worst_margin", "chance",
        "fit_seconds", "beta", "link", "best_epoch", "epochs_trained")  # fmt: skip


def draws(text: str) -> list[int]:
    """``"0-11"`` or ``"0,3,5"`` (or both, comma-separated) as a list of draws."""
    out = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return out


def run(out: Path, numbers, methods, seed: int) -> None:
    """Fit and score every method on every draw not already in ``out/runs``."""
    from neuromix.benchmarks.suite.datasets import draw_task
    from neuromix.benchmarks.suite.report import write_atomic
    from neuromix.benchmarks.suite.runners import prepare_data, run_one
    from neuromix.benchmarks.suite.settings import get_setting

    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for number in numbers:
        dataset = draw_task(number)
        todo = [m for m in methods if not (runs / f"{dataset.name}__{m}.json").exists()]
        if not todo:
            continue
        prepared = prepare_data(dataset, get_setting("full", seed=seed))
        for name in todo:
            method, fit_params = METHODS[name]
            setting = get_setting("full", seed=seed, fit_params=fit_params)
            metrics = run_one(dataset.name, method, setting=setting, prepared=prepared)
            metrics.pop("candidates", None)
            metrics.pop("selection", None)
            record = {"dataset": dataset.name, "method": name, "what": dataset.what,
                      "params": dataset.params, "seed": seed, **metrics}  # fmt: skip
            write_atomic(runs / f"{dataset.name}__{name}.json", json.dumps(record, default=float))
            print(f"{dataset.name} {name}: within {metrics['within']:.3f} transfer "
                  f"{metrics.get('transfer', float('nan')):.3f}", flush=True)  # fmt: skip


def load(out: Path) -> pd.DataFrame:
    """Every run in ``out/runs`` as one row (the columns of :data:`KEPT` and ``what``)."""
    rows = [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))]
    table = pd.DataFrame(rows)
    return table[[c for c in (*KEPT, "what") if c in table]]


def _number(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def report(out: Path) -> str:
    """Write ``heldout.csv`` and ``heldout.md``; return the markdown."""
    from neuromix.benchmarks.suite.report import MARGIN, _quality, targets, write_atomic

    table = load(out)
    present = set(table["method"])
    order = sorted(table["dataset"].unique(), key=_number)
    write_atomic(out / "heldout.csv", table.drop(columns="what").to_csv(index=False))
    lines = [
        "# Held-out draws: the defaults on tasks no choice has read",
        "",
        "Made by `python benchmarks/suite_heldout.py --report` from the runs in `runs/`. "
        "Each draw is a task of `neuromix.benchmarks.suite.datasets.draw_task` (its "
        "generator arguments drawn at random over the suite's ranges); held-out trials, "
        "logistic regression on the latents, as in the suite. `mmvm` is `neuromix.fit` at "
        'its defaults, `link-auto` the same with `link="auto"`, `reference-b1`/`-b10` the '
        "minimal MMVM of the reference note at beta 1 and 10.",
        "",
        "## Draws",
        "",
        "| draw | what |",
        "|---|---|",
    ]
    what = table.drop_duplicates("dataset").set_index("dataset")["what"]
    lines += [f"| {d} | {what[d]} |" for d in order]
    shown = tuple(METHODS)
    wide = table.set_index(["dataset", "method"])
    lines += ["", "## Within / transfer", "",
              "| draw | " + " | ".join(m.replace("mmvm-", "") for m in shown) + " |",
              "|---|" + "---|" * len(shown)]  # fmt: skip
    for d in order:
        cells = []
        for m in shown:
            if (d, m) not in wide.index:
                cells.append("–")
                continue
            r = wide.loc[(d, m)]
            t = r["transfer"]
            cells.append(f"{r['within']:.2f}" + ("" if pd.isna(t) else f" / {t:.2f}"))
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    summary = []
    for method in ("mmvm", "mmvm-link-auto"):
        if method not in present:
            continue
        got = targets(table, method).set_index("dataset").reindex(order)
        cols = [c for c in ("vs reference", "transfer >= 0.95 within", "vs aligners",
                            "vs raw", "pairs above chance + 0.10") if c in got]  # fmt: skip
        lines += ["", f"## Targets: `{method}`", "",
                  "| draw | chance | within | transfer | reference | beta | link | "
                  + " | ".join(cols) + " |",
                  "|---|---|---|---|---|---|---|" + "---|" * len(cols)]  # fmt: skip
        for d, r in got.iterrows():
            if pd.isna(r["within"]):
                continue
            run_row = wide.loc[(d, method)]
            flags = ["–" if pd.isna(r[c]) else ("met" if r[c] else "**missed**") for c in cols]
            reference = r.get("reference", np.nan)
            lines.append(
                f"| {d} | {run_row.get('chance', np.nan):.3f} | {r['within']:.3f} | "
                f"{r['transfer']:.3f} | {'–' if pd.isna(reference) else reference} "
                f"| {run_row.get('beta', np.nan):g} | {run_row.get('link', '–')} | "
                + " | ".join(flags)
                + " |"
            )
        met = {c: (int(got[c].fillna(False).astype(bool).sum()), int(got[c].notna().sum()))
               for c in cols}  # fmt: skip
        summary.append(f"- `{method}`: " + "; ".join(f"{c} {a}/{n}" for c, (a, n) in met.items()))
    means = table.pivot(index="dataset", columns="method", values=["within", "transfer"])
    if {"mmvm", "mmvm-link-auto"} <= present:
        quality = {m: _quality(means[("within", m)], means[("transfer", m)])
                   for m in ("mmvm", "mmvm-link-auto")}  # fmt: skip
        both = pd.DataFrame(quality, index=means.index).dropna()
        if len(both):
            diff = both["mmvm-link-auto"] - both["mmvm"]
            summary.append(
                f"- (within + transfer) / 2 over {len(both)} draws: defaults "
                f"{both['mmvm'].mean():.3f}, link auto {both['mmvm-link-auto'].mean():.3f} "
                f"(link auto minus defaults: min {diff.min():+.3f}, max {diff.max():+.3f})"
            )
    # link="auto" ran on fewer draws: the defaults and references over the draws they
    # share, then all four over the draws where link="auto" ran too
    every = [m for m in ("mmvm", "mmvm-link-auto", "reference-b1", "reference-b10")
             if m in present]  # fmt: skip
    core = [m for m in every if m != "mmvm-link-auto"]
    for fitted in [core, every] if every != core else [core]:
        complete = means.dropna(subset=[("within", m) for m in fitted])
        if fitted and len(complete):
            summary.append(
                f"- means over the {len(complete)} draws where all of them ran (within / "
                "transfer): "
                + "; ".join(
                    f"{m} {complete[('within', m)].mean():.3f} / "
                    f"{complete[('transfer', m)].mean():.3f}"
                    for m in fitted
                )
            )
    lines += ["", "## Summary", "", f"Targets met out of draws measured (margin {MARGIN}):",
              "", *summary, ""]  # fmt: skip
    text = "\n".join(lines)
    write_atomic(out / "heldout.md", text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder (resumable)")
    parser.add_argument("--draws", default="0-11", help='e.g. "0-11" or "0,2,5"')
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated")
    parser.add_argument("--seed", type=int, default=0, help="model, split and decoder seed")
    parser.add_argument("--report", action="store_true", help="write the report only")
    args = parser.parse_args()
    out = Path(args.out)
    if not args.report:
        methods = args.methods.split(",")
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            parser.error(f"unknown methods {unknown}; choose from {list(METHODS)}")
        warnings.filterwarnings("ignore", category=UserWarning)
        run(out, draws(args.draws), methods, args.seed)
    print(report(out))


if __name__ == "__main__":
    main()
