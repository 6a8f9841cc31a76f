"""Training speed of a sweep: K models of the rat configuration as one ensemble vs separate fits.

The paper's rat configuration (as ``benchmarks/train_speed.py``): five subjects with
920, 790, 1040, 490 and 460 inputs, MLPs as wide as the input (``hidden=(1.0, 1.0)``),
latent 2, MMVM (pairwise rate), Gaussian likelihood, batch 128, 2,448 paired samples.
In the same run:

* separate fits: one model trained by the package's own epoch
  (:func:`neuromix.training.loop._epoch`, what ``MultimodalVAE.fit`` runs per epoch);
* ensembles of K = 8 and K = 32 models (seeds 0..K-1, betas alternating 0.5 and 1.0),
  trained by :func:`neuromix.training.ensemble.train_ensemble` (what ``neuromix.sweep``
  runs), each model with its own generator and data order;
* the machine's fp32 peak, from a large ``torch.bmm`` (best of 5).

Prints seconds per model-epoch (an ensemble's epoch time divided by K), GFLOP/s (a
nominal 72 MFLOP per paired sample and model, forward and backward: 24 x sum_m D_m^2),
% of the peak and the speed-up over separate fits, then the targets: >= 3x separate
fits at K = 8, >= 85% of the peak at K = 32. The first epoch of every variant warms up
and is not timed; no validation pass on either side.

Memory: an ensemble holds K models' weights, gradients and Adam state (about 0.2 GB
per model here: ~6.5 GB at K = 32).

Run: ``make bench-sweep`` or ``python benchmarks/sweep_speed.py [--ks 8 32] [--epochs 2]
[--samples 2448]``; a quick check: ``--ks 2 --epochs 1 --samples 256``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np
import torch
from train_speed import BATCH, LATENT, SIZES, peak_gflops

import neuromix as nm
from neuromix.training.ensemble import Member, train_ensemble
from neuromix.training.loop import _epoch, make_optimizer, training_generator
from neuromix.training.samplers import ArraySampler

#: network options of every model (set by the command line: --hidden, --precision)
OPTIONS = {"hidden": (1.0, 1.0), "precision": "fp32"}


def flop_per_sample(hidden) -> float:
    """Nominal FLOP per paired sample and model, forward and backward (3 x 2 x MACs of
    the D x h and h x h layers of encoder and decoder; latent-sized layers neglected)."""
    total = 0.0
    for d in SIZES.values():
        h1, h2 = (int(w * d) if isinstance(w, float) else int(w) for w in hidden)
        total += 6 * (d * h1 + h1 * h2) * 2  # encoder and decoder mirror each other
    return total


def built(seed: int, beta: float) -> nm.MultimodalVAE:
    """A MultimodalVAE of the rat configuration, built (initialised) as its fit builds it."""
    vae = nm.MultimodalVAE(
        method="mmvm",
        latent_dim=LATENT,
        beta=beta,
        seed=seed,
        batch_size=BATCH,
        device="cpu",
        **OPTIONS,
    )
    vae._build(list(SIZES), {s: (d,) for s, d in SIZES.items()})
    return vae


def separate_epochs(sampler, epochs: int) -> list[float]:
    """Seconds of each epoch of one separate fit (the first, a warm-up, dropped)."""
    vae = built(0, 1.0)
    optimizer = make_optimizer(vae.module_.parameters(), 1e-3)
    generator = training_generator(0)
    times = []
    for epoch in range(epochs + 1):
        t = time.perf_counter()
        _epoch(
            vae.module_, sampler, batch_size=BATCH, beta=1.0, epoch=epoch,
            generator=generator, optimizer=optimizer,
        )  # fmt: skip
        times.append(time.perf_counter() - t)
    return times[1:]


def ensemble_epochs(sampler, k: int, epochs: int) -> list[float]:
    """Seconds per model-epoch of an ensemble of k models (the warm-up epoch dropped)."""
    members = []
    for seed in range(k):
        vae = built(seed, (0.5, 1.0)[seed % 2])
        members.append(
            Member(vae.module_, sampler, training_generator(seed), beta=vae.beta, name=str(seed))
        )
    histories, _ = train_ensemble(
        members, epochs=epochs + 1, batch_size=BATCH, lr=1e-3, progress=False
    )
    return [record["seconds"] for record in histories[0][1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ks", type=int, nargs="+", default=[8, 32], help="ensemble sizes (default: 8 32)"
    )
    parser.add_argument(
        "--epochs", type=int, default=2, help="measured epochs per variant, after one warm-up"
    )
    parser.add_argument(
        "--samples", type=int, default=2448, help="paired samples (default: the rats' 2448)"
    )
    parser.add_argument(
        "--hidden", default="1.0,1.0",
        help="MLP widths: floats are multiples of the input (the paper's 1.0,1.0), ints "
        "absolute (neuromix.fit's default 256,256)",
    )  # fmt: skip
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument(
        "--dask", type=int, default=0, metavar="K",
        help="also time neuromix.sweep of K models end to end (build, train, evaluate) "
        "locally and with engine='dask' on a LocalCluster of 2 one-thread workers",
    )  # fmt: skip
    args = parser.parse_args()
    OPTIONS["hidden"] = tuple(float(w) if "." in w else int(w) for w in args.hidden.split(","))
    OPTIONS["precision"] = args.precision
    rng = np.random.default_rng(0)
    data = [
        torch.as_tensor(rng.poisson(0.3, size=(args.samples, d)).astype(np.float32))
        for d in SIZES.values()
    ]
    sampler = ArraySampler(data)
    gflop_epoch = flop_per_sample(OPTIONS["hidden"]) * args.samples / 1e9
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.samples} samples, "
        f"batch {BATCH}; hidden {OPTIONS['hidden']}, {args.precision}; "
        f"{gflop_epoch:.1f} GFLOP per model-epoch"
    )
    results = {"separate fits": statistics.median(separate_epochs(sampler, args.epochs))}
    for k in args.ks:
        results[f"ensemble K={k}"] = statistics.median(ensemble_epochs(sampler, k, args.epochs))
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    peak = peak_gflops(dtype=torch.bfloat16 if args.precision == "bf16" else torch.float32)

    separate = results["separate fits"]
    print(f"\n{args.precision} peak (large torch.bmm, best of 5): {peak:.0f} GFLOP/s\n")
    header = f"{'variant':18s} {'s/model-epoch':>13s} {'GFLOP/s':>8s} {'% peak':>7s}"
    print(f"{header} {'vs separate':>11s}")
    for name, sec in results.items():
        gflops = gflop_epoch / sec
        print(
            f"{name:18s} {sec:13.3f} {gflops:8.1f} {100 * gflops / peak:6.1f}% "
            f"{separate / sec:10.2f}x"
        )
    print(f"\npeak resident memory: {rss_gb:.2f} GB")
    targets = []
    if "ensemble K=8" in results:
        targets.append(f">= 3x separate fits at K = 8: {separate / results['ensemble K=8']:.2f}x")
    if "ensemble K=32" in results:
        share = 100 * gflop_epoch / results["ensemble K=32"] / peak
        targets.append(f">= 85% of peak at K = 32: {share:.0f}%")
    if targets:
        print("targets: " + "; ".join(targets))
    if args.dask:
        sweep_end_to_end(data, args.dask, args.epochs + 1)


def sweep_end_to_end(data, k: int, epochs: int) -> None:
    """Wall time of neuromix.sweep over k models: in this process and on Dask."""
    import tempfile

    X = {s: x.numpy() for s, x in zip(SIZES, data, strict=True)}
    grid = {"seed": list(range(k)), "beta": [1.0], "epochs": epochs, "batch_size": BATCH}
    common = {"latent_dim": LATENT, "validation_fraction": 0.0, "progress": False, **OPTIONS}
    rows = {}
    t = time.perf_counter()
    nm.sweep(X, method="mmvm", device="cpu", **grid, **common)
    rows["sweep, engine='local'"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        nm.sweep(X, method="mmvm", engine="dask", n_workers=2, out=out, **grid, **common)
        rows["sweep, engine='dask' (2 workers x 1 thread)"] = time.perf_counter() - t
    print(f"\nneuromix.sweep of {k} models x {epochs} epochs, end to end (build, train, save):")
    local = rows["sweep, engine='local'"]
    for name, sec in rows.items():
        print(f"{name:44s} {sec:8.1f} s  {sec / (k * epochs):6.3f} s/model-epoch  "
              f"{local / sec:5.2f}x local")  # fmt: skip


if __name__ == "__main__":
    main()
