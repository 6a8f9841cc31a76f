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


def main() -> None:
    from neuromix.benchmarks.suite import run_suite
    from neuromix.benchmarks.suite.datasets import SUITE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", help="name of the variant (its folder under --out)")
    parser.add_argument("params", help="JSON: neuromix.fit / MultimodalVAE arguments")
    parser.add_argument("--out", required=True)
    parser.add_argument("--datasets", help="comma-separated suite datasets (default: all)")
    parser.add_argument("--method", default="mmvm", help="suite method (default mmvm)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
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
