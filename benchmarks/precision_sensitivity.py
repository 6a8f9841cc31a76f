"""Is an MMVM fit of the simulated rats sensitive to rounding-sized changes?

Fits ``neuromix.fit``'s defaults on ``simulate_odor_sequence(seed)`` with
``seed = SEED``, optionally with every initial weight multiplied by
``1 + SCALE * N(0, 1)`` (generator seed 1234) and in ``PRECISION``, and prints
``decode()``'s mean within-rat accuracy, mean transfer and worst ordered pair as JSON.

Used for docs/results/bf16.md: ``python benchmarks/precision_sensitivity.py 1 4e-3 fp32``
against ``... 1 0 bf16``. One fit takes 3-4 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

import neuromix as nm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed", type=int)
    parser.add_argument("scale", type=float, help="relative perturbation of the weights")
    parser.add_argument("precision", choices=["fp32", "bf16"])
    args = parser.parse_args()
    rec = nm.datasets.simulate_odor_sequence(seed=args.seed)
    model = nm.NeuralModel(
        subject_dim="rat",
        seed=args.seed,
        progress=False,
        device="cpu",
        precision=args.precision,
    )
    vae, sampler, validation = model._samplers(rec)  # what fit does before training
    if args.scale > 0:
        gen = torch.Generator().manual_seed(1234)
        with torch.no_grad():
            for p in vae.module_.parameters():
                p.mul_(1 + args.scale * torch.randn(p.shape, generator=gen))
    vae._fit_sampler(sampler, validation, owner=model)
    dec = model.decode()
    off = ~np.eye(len(model.subjects_), dtype=bool)
    print(
        json.dumps(
            {
                **vars(args),
                "within": float(dec.accuracy.mean()),
                "transfer": float(dec.transfer.values[off].mean()),
                "worst": float(dec.transfer.values[off].min()),
            }
        )
    )


if __name__ == "__main__":
    main()
