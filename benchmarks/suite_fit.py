"""One ``neuromix.fit`` on one suite dataset, its held-out scores and its validation curves.

A diagnostic beside ``benchmarks/suite_variants.py``: the same data, split and scoring as
the suite's ``mmvm`` runs (``neuromix benchmark suite``), with the fit's arguments given
as JSON, and the per-epoch history (training loss, validation loss and decoding
criterion) kept, so that a fit's schedule can be read next to its result::

    OMP_NUM_THREADS=1 python benchmarks/suite_fit.py eight-conditions no-validation \\
        '{"beta": 1, "validation_size": 0.0, "patience": null, "epochs": 60}' \\
        --out fits.jsonl

One JSON line per fit is appended to ``--out``. ``--seed`` is the suite's seed (the
split, the model and the scoring).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", help="a suite dataset (not multiview)")
    parser.add_argument("name", help="a name for the fit's arguments")
    parser.add_argument("params", help="JSON: neuromix.fit arguments")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)

    from neuromix import estimators as nm
    from neuromix.benchmarks.alignment.scoring import score
    from neuromix.benchmarks.suite.runners import prepare_data
    from neuromix.benchmarks.suite.settings import SuiteSetting

    params = json.loads(args.params)
    prepared = prepare_data(args.dataset, SuiteSetting(name="full", seed=args.seed))
    if prepared["kind"] != "recordings":
        parser.error(f"{args.dataset} is not a recordings dataset")
    data = prepared["data"]
    start = time.perf_counter()
    model = nm.fit(
        prepared["recordings"], seed=args.seed, progress=False, **prepared["fit_params"],
        **params,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    latents = model.latents()
    latents = {s: latents.sel({model.subject_dim: s}).values for s in data}
    metrics = score(latents, data, seed=args.seed, n_boot=1, n_shuffles=0)
    history = model.vae_.history_
    kept = [c for c in history.columns if c == "loss" or c.startswith("val_")]
    record = {
        "dataset": args.dataset, "variant": args.name, "seed": args.seed, "params": params,
        "seconds": seconds, "within": metrics["within"], "transfer": metrics["transfer"],
        "worst": metrics["worst_pair"], "beta": float(model.vae_.beta_),
        "best_epoch": model.vae_.best_epoch_, "epochs": len(history),
        "history": {c: [None if v != v else float(v) for v in history[c]] for c in kept},
    }  # fmt: skip
    print(
        f"{args.dataset} {args.name} seed {args.seed}: within {record['within']:.3f} "
        f"transfer {record['transfer']:.3f} worst {record['worst']:.3f} beta "
        f"{record['beta']:g} best epoch {record['best_epoch']} of {record['epochs']}, "
        f"{seconds:.0f} s",
        flush=True,
    )
    with args.out.open("a") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
