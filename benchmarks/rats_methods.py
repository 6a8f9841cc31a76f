"""Do the simulated rats share a latent space? Every method at the ``neuromix.fit`` defaults.

Fits each method on the five simulated rats (seeded) with the package defaults and
prints, on held-out trials averaged over rats: odor decoding, chance, the shuffled-label
control, cross-rat transfer, centroid distance against condition separation, and
coherence. Writes the same as JSON when ``--out`` is given.

Run: ``python benchmarks/rats_methods.py [--methods mmvm,independent,avg] [--epochs N]``.

Superseded by ``benchmarks/alignment.py`` (``neuromix benchmark rats``): the same methods
against CEBRA and classical alignment, several seeds, intervals, resumable; this script
stays for the numbers of ``docs/results/rats_methods_seed0.json``.
"""

from __future__ import annotations

import argparse
import json
import time

import neuromix as nm
from neuromix.demo import _summary, _table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(nm.models.available()))
    parser.add_argument("--epochs", type=int, default=None, help="default: nm.fit's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="JSON file for the metrics")
    args = parser.parse_args()
    rec = nm.datasets.simulate_odor_sequence(seed=args.seed)
    extra = {} if args.epochs is None else {"epochs": args.epochs}
    results = {}
    for method in args.methods.split(","):
        t = time.perf_counter()
        model = nm.fit(
            rec, subject_dim="rat", method=method, seed=args.seed, progress=False, **extra
        )
        results[method] = _summary(model, time.perf_counter() - t)
        print(f"{method}: done in {results[method]['seconds']:.0f} s", flush=True)
    print("\n" + _table(results))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"params": model.get_params(), "methods": results}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
