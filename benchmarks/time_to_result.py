"""Time to result: neuromix.fit at its defaults against the minimal MMVM, in one process.

On the five simulated rats (``simulate_odor_sequence(seed=--seed)``), on the same windows
and train/test trials, one after the other in this process and with the same torch
threads: the minimal MMVM of the reference note (beta 1, 60 epochs), ``neuromix.fit`` at
its defaults (beta selection included), with ``--link-auto`` also with
``link="auto"``, and ``neuromix.fit`` at the defaults it had before the suite chose
them. Prints each one's seconds and its ratio to the minimal
MMVM, with the decoding scores (within, transfer) of each. Run it alone: another busy
process on the machine slows torch several times over::

    python benchmarks/time_to_result.py --seed 3 --threads 2
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings


def main() -> None:
    import torch

    from neuromix import estimators as nm
    from neuromix.benchmarks.alignment.scoring import score
    from neuromix.benchmarks.suite.reference import minimal_mmvm
    from neuromix.benchmarks.suite.runners import prepare_data
    from neuromix.benchmarks.suite.settings import PREVIOUS_DEFAULTS, get_setting

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=3, help="simulator and model seed")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", help="append the result as one JSON line to this file")
    parser.add_argument(
        "--link-auto", action="store_true", help="also time neuromix.fit with link='auto'"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    setting = get_setting("full", seed=args.seed, data_params={"rats-0": {"seed": args.seed}})
    prepared = prepare_data("rats-0", setting)
    data = prepared["data"]
    rec, params = prepared["recordings"], prepared["fit_params"]
    rows = {}

    def scored(latents):
        m = score(latents, data, seed=args.seed, n_boot=1, n_shuffles=0)
        return round(m["within"], 3), round(m["transfer"], 3)

    start = time.perf_counter()
    latents, _ = minimal_mmvm(data, 2, beta=1.0, seed=args.seed)
    rows["minimal MMVM (beta 1)"] = (time.perf_counter() - start, scored(latents))

    fits = [("neuromix.fit defaults", {})]
    if args.link_auto:
        fits.append(("neuromix.fit link='auto'", {"link": "auto"}))
    fits.append(("previous defaults", PREVIOUS_DEFAULTS["recordings"]))
    for name, extra in fits:
        start = time.perf_counter()
        model = nm.fit(rec, seed=args.seed, progress=False, **params, **extra)
        seconds = time.perf_counter() - start
        lat = model.latents()
        latents = {s: lat.sel({model.subject_dim: s}).values for s in data}
        rows[name] = (seconds, scored(latents))

    ref = rows["minimal MMVM (beta 1)"][0]
    print(f"{platform.processor() or platform.machine()}, torch threads {args.threads}")
    for name, (seconds, (within, transfer)) in rows.items():
        print(
            f"{name:24s} {seconds:7.1f} s  {seconds / ref:5.2f}x the minimal MMVM  "
            f"within {within:.3f} transfer {transfer:.3f}"
        )
    if args.out:
        with open(args.out, "a") as f:
            record = {k: {"seconds": v[0], "within": v[1][0], "transfer": v[1][1]}
                      for k, v in rows.items()}  # fmt: skip
            f.write(json.dumps({"seed": args.seed, "threads": args.threads, **record}) + "\n")


if __name__ == "__main__":
    main()
