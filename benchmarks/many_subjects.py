"""Many subjects: time per epoch and memory of an MMVM fit at 5, 10, 20 and 50 subjects.

Synthetic subjects of 200 units and 400 trials (:func:`neuromix.datasets.make_population`,
0.5 s trials at 10 ms, 100 ms windows), fitted by :func:`neuromix.fit` at its defaults
(MMVM, pairwise rate, MLPs of 256) for two epochs; each subject count runs in its own
process so that its peak resident memory is its own. Beside each fit, in the same
process: the time of the pairwise rate alone (forward and backward,
:func:`neuromix.models.gaussian.mixture_kl_pairwise`) on posteriors of the fit's batch
shape, once per batch of an epoch, as a share of the epoch; both of its paths are timed,
the M^2 pairs and the O(M) closed-form sums (the fit uses the latter from
``PAIRWISE_LINEAR_FROM`` subjects on).

Run: ``make bench-subjects`` or ``python benchmarks/many_subjects.py [--subjects 5,10]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

COUNTS = (5, 10, 20, 50)


def one(n_subjects: int, precision: str) -> dict:
    import neuromix as nm
    from neuromix.models import gaussian

    t0 = time.perf_counter()
    data = nm.datasets.make_population(n_subjects, n_units=200, n_trials=400, seed=0)
    make_s = time.perf_counter() - t0
    model = nm.fit(
        data,
        label="condition",
        start=0.1,
        epochs=2,
        progress=False,
        device="cpu",
        precision=precision,
    )
    epoch_s = float(model.history_["seconds"].iloc[-1])
    n_samples = int(model.vae_.n_samples_) if hasattr(model.vae_, "n_samples_") else None
    batches = -(-n_samples // model.batch_size) if n_samples else None
    latent = model.latent_dim
    mu = torch.randn(model.batch_size, n_subjects, latent, requires_grad=True)
    logvar = torch.randn(model.batch_size, n_subjects, latent, requires_grad=True)

    def timed(linear_from: int) -> float:
        saved, gaussian.PAIRWISE_LINEAR_FROM = gaussian.PAIRWISE_LINEAR_FROM, linear_from
        try:
            gaussian.mixture_kl_pairwise(mu, logvar).sum().backward()  # warm-up
            t = time.perf_counter()
            for _ in range(batches):
                gaussian.mixture_kl_pairwise(mu, logvar).sum().backward()
            return time.perf_counter() - t
        finally:
            gaussian.PAIRWISE_LINEAR_FROM = saved

    rate_s = timed(gaussian.PAIRWISE_LINEAR_FROM)  # the path the fit took
    quadratic_s, linear_s = timed(10**9), timed(0)
    return {
        "subjects": n_subjects,
        "precision": model.vae_.precision_,
        "paired_samples": n_samples,
        "batches": batches,
        "s_per_epoch": epoch_s,
        "pairwise_rate_s": rate_s,
        "rate_share": rate_s / epoch_s,
        "quadratic_rate_s": quadratic_s,
        "linear_rate_s": linear_s,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "data_s": make_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", default=",".join(map(str, COUNTS)))
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "auto"])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.precision)))
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.precision}")
    header = (
        f"{'subjects':>8s} {'samples':>8s} {'s/epoch':>8s} {'s/epoch/subject':>16s} "
        f"{'rate':>8s} {'share':>6s} {'M^2 rate':>9s} {'O(M) rate':>10s} {'peak RSS':>9s}"
    )
    print(header)
    for m in (int(v) for v in args.subjects.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(m), "--precision", args.precision],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['subjects']:8d} {r['paired_samples']:8d} {r['s_per_epoch']:8.2f} "
            f"{r['s_per_epoch'] / r['subjects']:16.3f} {r['pairwise_rate_s']:7.3f}s "
            f"{100 * r['rate_share']:5.1f}% {r['quadratic_rate_s']:8.3f}s "
            f"{r['linear_rate_s']:9.3f}s {r['peak_rss_gb']:7.2f} GB",
            flush=True,
        )


if __name__ == "__main__":
    main()
