"""Variants of neuromix's MMVM on the datasets suite: the measurements behind its defaults.

Each variant is ``neuromix.fit`` (``MultimodalVAE`` on the multiview data) with its
defaults changed by a JSON mapping, fitted and scored on the suite's datasets as the
suite's ``mmvm`` method is (``neuromix benchmark suite``), into ``OUT/<variant>/``
(resumable: a rerun fits only what is missing). A variant with a list of betas records
every beta's held-out scores (the candidates of the selection), so one run gives the
fixed betas and the automatic choice among them::

    OMP_NUM_THREADS=1 python benchmarks/suite_variants.py --out docs/results/suite/variants \\
        grid '{"beta": [0.25, 0.5, 1, 2, 4, 8, 16, 32], "patience": 10}' \\
        --datasets four-subjects,few-trials

Two processes with disjoint ``--datasets`` may share a variant's folder (one per core).
``--report`` writes, for every variant folder under ``OUT``, the leave-one-dataset-out
table of its options.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path


def _criteria_choices(folder: Path):
    """Per dataset of a variant's runs: each beta's held-out quality (mean of within and
    transfer), and the beta each validation criterion recorded in the selection (the
    value at each candidate's kept epoch) would choose."""
    import numpy as np

    rows = []
    for path in sorted((folder / "runs").glob("*.json")):
        run = json.loads(path.read_text())
        metrics, dataset = run["metrics"], run["config"]["dataset"]
        selection = metrics.get("selection")
        if selection is None:
            continue
        data = selection["data_vars"]
        betas = selection["coords"]["beta"]["data"]
        quality = {c["beta"]: (c["within"] + c["transfer"]) / 2 for c in metrics["candidates"]}
        row = {"dataset": dataset, "chosen": metrics.get("beta")}
        for name in ("val_decode", "val_cross", "val_elbo"):
            if name not in data:
                continue
            values = np.array([np.nan if v is None else v for v in data[name]["data"]], float)
            if np.isfinite(values).any():
                row[name] = quality[betas[int(np.nanargmin(values))]]
        row["best in hindsight"] = max(quality.values())
        rows.append(row)
    return rows


def _halving_replay(folder: Path, rung: int = 10):
    """Successive halving replayed on a variant's runs, whose candidates each trained on
    their own: at the end of epochs ``rung``, ``2 rung``, ... the worse half of those
    left (by the best criterion of their curve so far) is culled; the choice is the best
    criterion at the kept epoch among those left. Per dataset: the quality of the beta
    the full grid and the halving choose, and the model-epochs each trains."""
    import numpy as np

    rows = []
    for path in sorted((folder / "runs").glob("*.json")):
        run = json.loads(path.read_text())
        metrics, selection = run["metrics"], run["metrics"].get("selection")
        if selection is None:
            continue
        data, betas = selection["data_vars"], selection["coords"]["beta"]["data"]
        curve = np.array([[np.nan if v is None else v for v in row]
                          for row in data["curve"]["data"]], float)  # fmt: skip
        final = np.array([np.inf if v is None else v for v in data["score"]["data"]], float)
        trained = np.asarray(data["epochs_trained"]["data"], int)
        quality = {c["beta"]: (c["within"] + c["transfer"]) / 2 for c in metrics["candidates"]}
        alive, stop, at = list(range(len(betas))), dict(enumerate(trained)), rung
        while len(alive) > 1 and any(stop[k] > at for k in alive):
            best = {k: np.nanmin(np.r_[curve[k, : min(at, stop[k])], np.inf]) for k in alive}
            ranked = sorted(alive, key=lambda k: best[k])
            for k in ranked[len(ranked) - len(ranked) // 2 :]:
                stop[k] = min(stop[k], at)
                alive.remove(k)
            at *= 2
        pick = min(alive, key=lambda k: final[k])
        rows.append({
            "dataset": run["config"]["dataset"],
            "full grid": quality[betas[int(np.argmin(final))]],
            "halving": quality[betas[pick]],
            "epochs full grid": int(trained.sum()),
            "epochs halving": int(sum(stop.values())),
        })  # fmt: skip
    return rows


def _width_report(out: Path) -> None:
    """The ``cap-w<width>`` variants (fixed beta, hidden layers of that width): per
    dataset the mean of within and transfer per width, the mean over the datasets every
    width has, and the width chosen on all datasets but one, scored on the one left out.
    Writes ``widths.csv`` beside the variant folders."""
    import pandas as pd

    from neuromix.evaluation.sweep import gather

    frames = []
    for folder in sorted(out.glob("cap-w*")):
        if not (folder / "runs").is_dir() or not folder.name[5:].isdigit():
            continue
        table = gather(folder)
        table = table.assign(width=int(folder.name[5:]))
        frames.append(table[["dataset", "width", "within", "transfer", "epochs_trained"]])
    if not frames:
        return
    table = pd.concat(frames)
    table["quality"] = (table.within + table.transfer) / 2
    wide = table.pivot(index="dataset", columns="width", values="quality")
    wide.round(4).to_csv(out / "widths.csv")
    full = wide.dropna()
    print(f"== widths ({', '.join(map(str, wide.columns))}), beta 1: (within + transfer) / 2")
    print(wide.round(3).to_string())
    print(f"mean over the {len(full)} datasets every width has:")
    print(full.mean().round(4).to_string())
    rows = []
    for left in full.index:
        chosen = full.drop(index=left).mean().idxmax()
        rows.append({"left_out": left, "chosen": chosen, "quality": full.loc[left, chosen]})
    loo = pd.DataFrame(rows)
    print("leave one dataset out (width chosen on the others):")
    print(loo.round(3).to_string(index=False))


#: The default fit over model seeds, as folders under OUT (".." is the suite's own runs,
#: seed 0; the others: the same split, other initial weights and minibatch order).
SEED_FOLDERS = ("..", "seed1", "seed2")
#: The Poisson link's options, as folders under OUT (seed 0, the suite's split): the
#: defaults (softplus), the exp link, and link="auto" (each link its own bracket).
LINK_FOLDERS = {"softplus": "..", "exp": "link-exp", "auto": "link-auto"}
#: link="auto" over model seeds (seeds 1 and 2 on a few datasets).
LINK_AUTO_SEEDS = ("link-auto", "link-auto-seed1", "link-auto-seed2")


def _family(out: Path, folders):
    """The ``mmvm`` runs of the seed folders: dataset, seed, within, transfer, seconds."""
    import pandas as pd

    from neuromix.evaluation.sweep import gather

    frames = []
    for seed, name in enumerate(folders):
        folder = out.parent if name == ".." else out / name
        if (folder / "runs").is_dir():
            table = gather(folder)
            table = table[table.method == "mmvm"] if "method" in table else table
            columns = ["dataset", "within", "transfer", "fit_seconds"]
            frames.append(table.reindex(columns=columns).assign(seed=seed))
    return pd.concat(frames) if frames else None


def _seed_report(
    out: Path,
    folders=SEED_FOLDERS,
    suffix: str = "",
    label: str = "the defaults",
    min_seeds: int = 1,
) -> None:
    """The first target over seeds: the default fit of each model seed (``folders``, see
    :data:`SEED_FOLDERS`) against the minimal MMVM of each seed
    (``reference_switches.jsonl``, switch ``base``, from
    ``benchmarks/reference_switches.py``). Per dataset the mean and range of within and
    transfer, and whether the defaults' means are at least the reference's (its better
    beta per score, as in the suite's targets) - 0.02, on the datasets with at least
    ``min_seeds`` runs. Writes ``seeds{suffix}.csv`` (per dataset and beta) and
    ``seeds{suffix}_targets.csv``."""
    import pandas as pd

    from neuromix.benchmarks.suite.report import vs_reference

    frames = _family(out, folders)
    path = out / "reference_switches.jsonl"
    if frames is None or not path.exists():
        return
    ours = frames.groupby("dataset")
    ref = pd.read_json(path, lines=True)
    ref = ref[ref.switch == "base"].groupby(["dataset", "beta"])
    rows = []
    for (dataset, beta), group in ref:
        if dataset not in ours.groups or len(group) < 2:
            continue
        mine = ours.get_group(dataset)
        if len(mine) < min_seeds:
            continue
        rows.append(
            {
                "dataset": dataset,
                "beta": beta,
                "ref_seeds": len(group),
                "ref_within": group.within.mean(),
                "ref_transfer": group.transfer.mean(),
                "ref_transfer_range": f"{group.transfer.min():.3f}-{group.transfer.max():.3f}",
                "seeds": len(mine),
                "within": mine.within.mean(),
                "transfer": mine.transfer.mean(),
                "transfer_range": f"{mine.transfer.min():.3f}-{mine.transfer.max():.3f}",
            }
        )
    if not rows:
        return
    table = pd.DataFrame(rows)
    best = []  # the suite's first target, on the means
    for dataset, group in table.groupby("dataset"):
        first = group.iloc[0]
        references = group[["ref_within", "ref_transfer"]].itertuples(index=False, name=None)
        ref_w, ref_t, met = vs_reference(first.within, first.transfer, list(references))
        best.append(
            {
                "dataset": dataset,
                "ref_within": ref_w,
                "ref_transfer": ref_t,
                "within": first.within,
                "transfer": first.transfer,
                "seeds": first.seeds,
                "target": "met" if met else "missed",
            }
        )
    best = pd.DataFrame(best).set_index("dataset")
    table.round(4).to_csv(out / f"seeds{suffix}.csv", index=False)
    best.round(4).to_csv(out / f"seeds{suffix}_targets.csv")
    print(f"== seeds{suffix}: {label} against the minimal MMVM, means over model seeds")
    with pd.option_context("display.width", 200):
        print(table.round(3).to_string(index=False))
        print(f"the target, {label} >= the reference's best beta per score - 0.02, on means:")
        print(best.round(3).to_string())


def _link_report(out: Path, options=None) -> None:
    """The Poisson link's options (:data:`LINK_FOLDERS`) on the datasets all of them ran,
    and the choice among them left out one dataset at a time: the option of the best
    mean (within + transfer) / 2 on the other datasets, scored on the one left out.
    Writes ``link.csv``, and prints each option's total fit time against the first's."""
    import pandas as pd

    from neuromix.benchmarks.suite.report import _quality, leave_one_out

    options = LINK_FOLDERS if options is None else options
    frames = {name: _family(out, (folder,)) for name, folder in options.items()}
    if any(f is None for f in frames.values()):
        return
    long = pd.concat([f.assign(option=name) for name, f in frames.items()], ignore_index=True)
    # the datasets every option ran
    common = long.groupby("dataset").option.nunique().eq(len(options))
    long = long[long.dataset.isin(common.index[common])]
    if long.dataset.nunique() < 2:
        return
    long = long.assign(quality=_quality(long.within, long.transfer))
    quality = long.pivot(index="dataset", columns="option", values="quality")[list(options)]
    quality.columns.name = None
    loo = leave_one_out(long).set_index("left_out")
    table = quality.copy()
    table["left out: chosen"] = loo.chosen
    table["left out: quality"] = loo.quality
    table.round(4).to_csv(out / "link.csv")
    seconds = {
        n: f.set_index("dataset").fit_seconds[quality.index].sum() for n, f in frames.items()
    }
    first = next(iter(options))
    print("== link: (within + transfer) / 2 per option; the choice left out in turn")
    with pd.option_context("display.width", 200):
        print(table.round(3).to_string())
    means = ", ".join(f"{n} {quality[n].mean():.4f}" for n in options)
    print(f"mean over {len(quality)} datasets: {means}; the choice on left-out datasets "
          f"{table['left out: quality'].mean():.4f}")  # fmt: skip
    if seconds[first] > 0:  # runs that recorded their fit time
        times = ", ".join(f"{n} {seconds[n] / seconds[first]:.2f}x" for n in options)
        print(f"total fit time against {first} (a shared machine): {times}")


def report(out: Path) -> None:
    """Per variant folder under ``out``: leave-one-dataset-out of ``beta="auto"`` and
    of each fixed beta of its grid, and what each validation criterion would choose."""
    import pandas as pd

    from neuromix.benchmarks.suite.report import _options, candidate_table, leave_one_out
    from neuromix.evaluation.sweep import gather

    _width_report(out)
    _seed_report(out)
    _seed_report(out, LINK_AUTO_SEEDS, "_link_auto", 'link="auto"', min_seeds=2)
    _link_report(out)
    for folder in sorted(p for p in out.iterdir() if (p / "runs").is_dir()):
        table = gather(folder)
        cand = candidate_table(table) if "candidates" in table else pd.DataFrame()
        if cand.empty:
            continue
        options = _options(cand)
        mean = options.assign(quality=(options.within + options.transfer) / 2)
        loo = leave_one_out(options)
        criteria = pd.DataFrame(_criteria_choices(folder))
        loo.to_csv(folder / "leave_one_out.csv", index=False)
        criteria.to_csv(folder / "criteria.csv", index=False)
        print(f"== {folder.name}: {cand.dataset.nunique()} datasets")
        print("mean and minimum over datasets of (within + transfer) / 2 per option:")
        print(mean.groupby("option")["quality"].agg(["mean", "min"]).round(3).to_string())
        print("leave one dataset out (chosen on the others, scored on the one left out):")
        print(loo.round(3).to_string(index=False))
        print("quality of the beta each validation criterion chooses (mean over datasets):")
        print(criteria.drop(columns=["dataset", "chosen"]).mean().round(4).to_string())
        halving = pd.DataFrame(_halving_replay(folder))
        halving.to_csv(folder / "halving.csv", index=False)
        same = int((halving["full grid"] == halving["halving"]).sum())
        print(
            f"successive halving replayed (rungs 10, 20, ...): the full grid's beta on {same} "
            f"of {len(halving)} datasets; mean quality {halving['full grid'].mean():.4f} -> "
            f"{halving['halving'].mean():.4f}; model-epochs "
            f"{halving['epochs halving'].sum() / halving['epochs full grid'].sum():.2f} of "
            "the full grid's"
        )
        _halving_leave_one_out(mean, halving, folder)


def _halving_leave_one_out(mean, halving, folder: Path) -> None:
    """Leave one dataset out among successive halving over the grid (its first rung at
    5, 10 or 20 epochs) and each fixed beta, those within the 2x time target: the full
    grid (about 2.8x a fit) is left out of the choice, and so is a rung whose time,
    estimated from its model-epochs, is over 2x. Chosen by the mean quality on the other
    datasets, scored on the one left out."""
    import pandas as pd

    wide = mean.pivot(index="dataset", columns="option", values="quality")
    wide = wide.drop(columns=["auto"], errors="ignore")
    wide["halving"] = halving.set_index("dataset")["halving"]
    fractions = {}
    for rung in (5, 20):  # the first rung: the package's is 10 (min_epochs)
        other = pd.DataFrame(_halving_replay(folder, rung)).set_index("dataset")
        wide[f"halving-r{rung}"] = other["halving"]
        fractions[rung] = other["epochs halving"].sum() / other["epochs full grid"].sum()
    print(
        "model-epochs of the halving, first rung at 5 / 10 / 20 epochs, against the full "
        f"grid's: {fractions[5]:.2f} / "
        f"{halving['epochs halving'].sum() / halving['epochs full grid'].sum():.2f} / "
        f"{fractions[20]:.2f}"
    )
    wide = wide.dropna()
    print("mean quality over the datasets per option:")
    print(wide.mean().round(4).to_string())
    # time of a fit choosing beta, in fits of one beta, linear in the model-epochs
    # trained (measured on the rats, seed 3: halving at rung 10 1.70x at 0.56 of the
    # grid's model-epochs, the full grid 2.84x): a rung of 20 (~2.1x) is over the 2x
    # target and is not a choice
    a = (2.84 * 0.56 - 1.70) / (0.56 - 1.0)
    b = 2.84 - a
    print(
        "estimated time, in fits of one beta: "
        + ", ".join(
            f"rung {r} {a + b * f:.2f}x" for r, f in ((5, fractions[5]), (20, fractions[20]))
        )
        + " (rung 10: 1.70x, measured)"
    )
    if a + b * fractions[20] > 2.0:
        wide = wide.drop(columns=["halving-r20"])
    if len(wide) < 2:
        print("leave one dataset out: needs two datasets or more")
        return
    rows = []
    for left in wide.index:
        chosen = wide.drop(index=left).mean().idxmax()
        rows.append({
            "left_out": left,
            "chosen": chosen,
            "quality": wide.loc[left, chosen],
            "best_in_hindsight": wide.loc[left].idxmax(),
            "best_quality": wide.loc[left].max(),
        })  # fmt: skip
    loo = pd.DataFrame(rows)
    loo.to_csv(folder / "leave_one_out_halving.csv", index=False)
    print(
        "leave one dataset out among halving over the grid and each fixed beta, the "
        "options within the 2x time target (the full grid, ~2.8x a fit, is not):"
    )
    print(loo.round(3).to_string(index=False))
    print(f"mean quality of the choice on the left-out datasets: {loo.quality.mean():.4f}")


def main() -> None:
    from neuromix.benchmarks.suite import run_suite
    from neuromix.benchmarks.suite.datasets import SUITE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", nargs="?", help="name of the variant (its folder under --out)")
    parser.add_argument("params", nargs="?", help="JSON: neuromix.fit / MultimodalVAE arguments")
    parser.add_argument("--out", required=True)
    parser.add_argument("--datasets", help="comma-separated suite datasets (default: all)")
    parser.add_argument("--method", default="mmvm", help="suite method (default mmvm)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", action="store_true", help="only report the variants")
    args = parser.parse_args()
    if args.report:
        report(Path(args.out))
        return
    if args.variant is None or args.params is None:
        parser.error("a variant and its params are needed (or --report)")
    params = json.loads(args.params)
    if "hidden" in params:
        params["hidden"] = tuple(params["hidden"])
    datasets = args.datasets.split(",") if args.datasets else [d.name for d in SUITE]
    warnings.filterwarnings("ignore", category=UserWarning)
    run_suite(
        Path(args.out) / args.variant,
        methods=(args.method,),
        datasets=tuple(datasets),
        fit_params=params,
        seed=args.seed,
        progress=False,
    )


if __name__ == "__main__":
    main()
