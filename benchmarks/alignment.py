"""The shared space against the best peer: every method on the simulated rats and on
multiview data, against CEBRA, PCA + Procrustes, SRM and the raw-window decoder.

The same as ``neuromix benchmark rats`` (see :mod:`neuromix.benchmarks.alignment`):

    OMP_NUM_THREADS=1 python benchmarks/alignment.py --out docs/results/alignment
    python benchmarks/alignment.py --out /tmp/align --quick   # a smoke test

Options: ``--methods mmvm-pairwise,cebra``, ``--seeds 0,1,2``, ``--epochs N``,
``--datasets rats,multiview``, ``--cebra-iterations N``, ``--no-progress``. A rerun
with the same ``--out`` skips the finished fits.
"""

from __future__ import annotations

import sys

from neuromix.cli import main

if __name__ == "__main__":
    sys.exit(main(["benchmark", "rats", *sys.argv[1:]]))
