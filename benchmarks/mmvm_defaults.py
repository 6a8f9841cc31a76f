"""One MMVM configuration on the simulated rats: within-rat decoding, transfer, worst pair.

The measurements behind the defaults of :func:`neuromix.fit` (README, "What the defaults
are, and why"). Each call fits ``neuromix.fit`` at its defaults changed by a JSON mapping
of overrides, on ``simulate_odor_sequence(seed=SIM_SEED, **SIMULATOR)``, decodes the odor
on held-out trials and appends one JSON line to ``--out``:

    OMP_NUM_THREADS=1 python benchmarks/mmvm_defaults.py NAME SIM_SEED '{"hidden": [256, 256]}'
    OMP_NUM_THREADS=1 python benchmarks/mmvm_defaults.py h256_u40 0 \\
        '{"hidden": [256, 256]}' '{"n_units": 40}'

The runs of docs/results/mmvm_defaults.jsonl were made this way (one process per core,
1 thread each; the ``overrides`` and ``sim`` fields of each line are the arguments; runs
named ``wideD*`` used ``{"hidden": [1.0, 1.0]}``, the then default).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

import neuromix as nm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("sim_seed", type=int)
    parser.add_argument("overrides", nargs="?", default="{}", help="JSON: nm.fit arguments")
    parser.add_argument("simulator", nargs="?", default="{}", help="JSON: simulator arguments")
    parser.add_argument("--out", default="mmvm_defaults.jsonl")
    args = parser.parse_args()
    overrides = json.loads(args.overrides)
    if "hidden" in overrides:
        overrides["hidden"] = tuple(overrides["hidden"])
    seed = overrides.pop("seed", args.sim_seed)
    rec = nm.datasets.simulate_odor_sequence(seed=args.sim_seed, **json.loads(args.simulator))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = nm.fit(rec, subject_dim="rat", progress=False, seed=seed, **overrides)
    seconds = time.perf_counter() - start
    dec = model.decode()
    transfer = dec.transfer.values
    off = ~np.eye(len(transfer), dtype=bool)
    history = model.history_
    row = {
        "name": args.name,
        "sim_seed": args.sim_seed,
        "within": float(dec.accuracy.mean()),
        "transfer": float(transfer[off].mean()),
        "worst": float(transfer[off].min()),
        "chance": float(dec.chance.mean()),
        "secs": round(seconds, 1),
        "per_rat": [round(float(v), 2) for v in dec.accuracy.values],
        "max_rate": float(history["rate"].max()),
        "final_rate": float(history["rate"].iloc[-1]),
        "final_val": float(history["val_loss"].iloc[-1]) if "val_loss" in history else None,
        "overrides": args.overrides,
        "sim": args.simulator,
    }
    print(json.dumps(row), flush=True)
    with open(args.out, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
