"""The minimal MMVM with one of the package's choices switched in at a time, over seeds.

The defaults issue asks why the package's MMVM falls below the minimal reference
(``neuromix.benchmarks.suite.reference.minimal_mmvm``). This switches the package's
choices into the reference one at a time, on the suite's datasets, with several model
seeds (initial weights and draws; the split is the suite's, seed 0), so that a switch's
effect can be told from the spread between seeds of the reference itself::

    OMP_NUM_THREADS=1 python benchmarks/reference_switches.py --out runs.jsonl \\
        --datasets four-subjects,many-subjects --switches base,softplus --seeds 0,1,2

Switches: ``base`` (the recipe), ``softplus`` (the package's Poisson link),
``soft-logvar`` (its smooth log-variance bounds), ``draws-max`` (as many tuples per
condition as the largest training-trial count, as its ``pairing="resample"``). Each
run appends one JSON line to ``--out``; a rerun skips the runs already there.
``--report`` prints, per dataset and switch, the mean and the range over seeds of
within and transfer.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SWITCHES = {
    "base": {},
    "softplus": {"link": "softplus"},
    "soft-logvar": {"logvar": "soft"},
    "draws-max": {"draws": "max"},
}


def run(out: Path, datasets, switches, seeds, betas) -> None:
    from neuromix.benchmarks.alignment.scoring import score
    from neuromix.benchmarks.suite.reference import minimal_mmvm
    from neuromix.benchmarks.suite.runners import prepare_data
    from neuromix.benchmarks.suite.settings import get_setting

    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["dataset"], r["switch"], r["beta"], r["seed"]))
    setting = get_setting("full")
    for dataset in datasets:
        prepared = None
        for beta in betas:
            for switch in switches:
                for seed in seeds:
                    if (dataset, switch, beta, seed) in done:
                        continue
                    prepared = prepared or prepare_data(dataset, setting)
                    data = prepared["data"]
                    likelihood = "gaussian" if prepared["kind"] == "arrays" else "poisson"
                    latents, info = minimal_mmvm(
                        data, prepared["latent_dim"], beta=beta, seed=seed,
                        epochs=setting.reference_epochs, likelihood=likelihood,
                        **SWITCHES[switch],
                    )  # fmt: skip
                    m = score(latents, data, seed=setting.seed, n_boot=1, n_shuffles=0)
                    record = {
                        "dataset": dataset, "switch": switch, "beta": beta, "seed": seed,
                        "within": m["within"], "transfer": m["transfer"],
                        "worst_pair": m["worst_pair"], "chance": m["chance"],
                        "fit_seconds": info["fit_seconds"],
                    }  # fmt: skip
                    print(json.dumps(record), flush=True)
                    with out.open("a") as f:
                        f.write(json.dumps(record) + "\n")


def report(out: Path) -> None:
    import pandas as pd

    runs = pd.read_json(out, lines=True)
    table = runs.groupby(["dataset", "beta", "switch"]).agg(
        seeds=("seed", "size"),
        within=("within", "mean"),
        within_min=("within", "min"),
        within_max=("within", "max"),
        transfer=("transfer", "mean"),
        transfer_min=("transfer", "min"),
        transfer_max=("transfer", "max"),
    )
    with pd.option_context("display.width", 160, "display.max_rows", 500):
        print(table.round(3).to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON-lines file of runs")
    parser.add_argument("--datasets", default="four-subjects")
    parser.add_argument("--switches", default=",".join(SWITCHES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--betas", default="1", help="comma-separated, e.g. 1,10")
    parser.add_argument("--report", action="store_true", help="only print the table")
    args = parser.parse_args()
    if args.report and not args.out.exists():
        parser.error(f"{args.out}: no runs to report")
    if not args.report:
        switches = args.switches.split(",")
        unknown = sorted(set(switches) - set(SWITCHES))
        if unknown:
            parser.error(f"unknown switches {unknown}; known: {sorted(SWITCHES)}")
        run(
            args.out, args.datasets.split(","), switches,
            [int(s) for s in args.seeds.split(",")], [float(b) for b in args.betas.split(",")],
        )  # fmt: skip
    report(args.out)


if __name__ == "__main__":
    main()
