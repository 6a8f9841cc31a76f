"""Does the PolyMNIST benchmark detect a broken MMVM? MMVM against two broken copies.

Registers, in this script only, two deliberately broken MMVM variants as methods, runs
a short version of the PolyMNIST benchmark (``neuromix.benchmarks.polymnist.
run_benchmark``, setting ``"cpu"`` with the overrides given on the command line) with
MMVM and both variants, and prints, per variant, the probe accuracy and coherence with
95% Student-t intervals over seeds and whether the variant is measurably worse than MMVM.

``mmvm-noprior``
    The prior without the other subjects: each q_m's rate is KL(q_m || N(0, I)) alone,
    i.e. independent VAEs under MMVM's name. Nothing aligns the modalities' latents, so
    a latent of one modality means nothing to another modality's decoder: coherence
    should fall towards chance.
``mmvm-reversed``
    The KL direction reversed per subject: 1/M sum_k KL(q_k || q_m) instead of
    1/M sum_k KL(q_m || q_k). With the pairwise estimator the objective only sees the
    sum over subjects m, and sum_m sum_k KL(q_k || q_m) = sum_m sum_k KL(q_m || q_k):
    the total rate, hence the loss and its gradient, is MMVM's (checked below on random
    posteriors). This variant is a negative control: the benchmark must *not* find it
    worse beyond the noise of floating-point summation order.

"Measurably worse", per metric: over seeds, the paired difference d_s = MMVM - variant
(each fit's score averaged over the betas, same seed) has a 95% t-interval above 0.
The script also prints the benchmark's own statistic, the paired comparison at matched
reconstruction error (:func:`neuromix.benchmarks.polymnist.paired_comparison`).

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/broken_mmvm.py --quick
    OMP_NUM_THREADS=1 python benchmarks/broken_mmvm.py --out broken-mmvm --betas 0.5 \\
        --variants mmvm-noprior [--seeds 0,1,2 --epochs N --n-train N]

Without ``--quick`` every value not given is the ``"cpu"`` setting's. ``--quick`` runs
in a few minutes on tiny data: it checks the script, its numbers mean little. The output
folder resumes like the benchmark's (rerun the same command).
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time

import numpy as np
import pandas as pd
import torch

from neuromix.models.gaussian import kl_normal, kl_standard_normal
from neuromix.models.methods import METHODS
from neuromix.models.methods._common import own_component_plan
from neuromix.models.methods.mmvm import MMVM

VARIANTS = ("mmvm-noprior", "mmvm-reversed")
QUICK = {
    "n_train": 400,
    "n_test": 300,
    "epochs": 2,
    "seeds": (0, 1, 2),
    "betas": (1.0,),
    "latent_dim": 16,
    "classifier_n": 3000,
    "classifier_epochs": 2,
    "max_train": 400,
}


class NoPriorMMVM(MMVM):
    """Broken MMVM: rate sum_m KL(q_m || N(0, I)), the other subjects left out."""

    name = "mmvm-noprior"

    def plan(self, mu, logvar, mask, *, epoch=0, generator=None):
        rate = (kl_standard_normal(mu, logvar) * mask.to(mu.dtype)).sum(dim=1)
        return own_component_plan(mu, logvar, mask, rate)


class ReversedMMVM(MMVM):
    """Broken MMVM: rate sum_m 1/M sum_k KL(q_k || q_m) (the KL direction reversed)."""

    name = "mmvm-reversed"

    def plan(self, mu, logvar, mask, *, epoch=0, generator=None):
        weight = mask.to(mu.dtype)
        # pair[b, m, k] = KL(q_k || q_m): the reverse of MMVM's KL(q_m || q_k)
        pair = kl_normal(
            mu.unsqueeze(1), logvar.unsqueeze(1), mu.unsqueeze(2), logvar.unsqueeze(2)
        )
        per_subject = (pair * weight.unsqueeze(1)).sum(dim=2) / weight.sum(dim=1, keepdim=True)
        rate = (per_subject * weight).sum(dim=1)
        return own_component_plan(mu, logvar, mask, rate)


def register() -> None:
    for cls in (NoPriorMMVM, ReversedMMVM):
        if cls.name not in METHODS.available():
            METHODS.register(cls)


def check_rates() -> str:
    """The variants' rates on random posteriors, against MMVM's and independent VAEs'."""
    from neuromix.models.methods.independent import Independent

    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(64, 3, 8, generator=g), torch.randn(64, 3, 8, generator=g)
    mask = torch.rand(64, 3, generator=g) > 0.2
    mask[:, 0] = True
    rate = {
        cls.name: cls().plan(mu, logvar, mask).rate
        for cls in (MMVM, NoPriorMMVM, ReversedMMVM, Independent)
    }
    assert torch.allclose(rate["mmvm-noprior"], rate["independent"])
    gap = float((rate["mmvm-reversed"] - rate["mmvm"]).abs().max() / rate["mmvm"].abs().max())
    assert gap < 1e-5, gap
    # per subject the reversed KLs do differ: the variant is reversed, its total is not
    pair = kl_normal(mu.unsqueeze(2), logvar.unsqueeze(2), mu.unsqueeze(1), logvar.unsqueeze(1))
    forward = pair.sum(dim=2)  # all subjects present in this comparison
    backward = pair.sum(dim=1)
    spread = float((forward - backward).abs().max() / forward.abs().max())
    return (
        "rate check on random posteriors: mmvm-noprior = independent VAEs' rate; "
        f"mmvm-reversed total rate = MMVM's to a relative {gap:.1e}, although its "
        f"per-subject terms differ from MMVM's by up to a relative {spread:.2f}"
    )


def t_interval(values: np.ndarray) -> tuple[float, float, float]:
    from scipy import stats

    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(values) - 1)) * values.std(ddof=1) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def summarize(table: pd.DataFrame) -> str:
    """The printed comparison of MMVM with the variants (a table of their fits)."""
    variants = [v for v in VARIANTS if v in set(table["method"])]
    from neuromix.benchmarks.polymnist import paired_comparison

    # one number per fit's seed: the score averaged over the betas
    per_seed = table.groupby(["method", "seed"])[["accuracy", "coherence", "recon"]].mean()
    lines = ["", "Per variant: mean over seeds [95% t-interval] of the seed's mean over betas"]
    for method in ("mmvm", *variants):
        cells = []
        for metric in ("accuracy", "coherence", "recon"):
            mean, low, high = t_interval(per_seed.loc[method, metric].to_numpy())
            fmt = ".1f" if metric == "recon" else ".3f"
            cells.append(f"{metric} {mean:{fmt}} [{low:{fmt}}, {high:{fmt}}]")
        lines.append(f"  {method:14s} " + "; ".join(cells))
    n_seeds = table["seed"].nunique()
    lines += ["", "MMVM minus variant, paired over seeds (same seed, mean over betas):"]
    for method in variants:
        verdicts = []
        for metric in ("accuracy", "coherence"):
            d = (per_seed.loc["mmvm", metric] - per_seed.loc[method, metric]).to_numpy()
            mean, low, high = t_interval(d)
            if n_seeds < 2:
                word = "one seed: no interval"
            else:
                word = "measurably worse" if low > 0 else "not measurably worse"
            verdicts.append(f"{metric} {mean:+.3f} [{low:+.3f}, {high:+.3f}] -> {word}")
        lines.append(f"  {method:14s} " + "; ".join(verdicts))
    lines += ["", "The benchmark's statistic, at matched reconstruction (MMVM minus variant):"]
    for metric in ("accuracy", "coherence"):
        cmp = paired_comparison(table, x="recon", y=metric)
        for r in cmp.itertuples():
            lines.append(
                f"  {metric:9s} {r.method:14s} {r.mean_difference:+.3f} "
                f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}], p = {r.p_value:.2g}, "
                f"{r.n_positive}/{r.n_seeds} seeds (seeds with a matched point)"
            )
    return "\n".join(lines)


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny data: a check of the script")
    parser.add_argument("--out", help="output folder (default: broken-mmvm[-quick])")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--n-train", type=int)
    parser.add_argument("--seeds", help="comma-separated, e.g. 0,1,2")
    parser.add_argument("--betas", help="comma-separated, e.g. 0.0625,0.5,4")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", help=f"comma-separated, default all: {','.join(VARIANTS)}")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    from neuromix.benchmarks.polymnist import get_setting, run_benchmark

    args = parse(argv)
    register()  # before the setting is built: it refuses unknown method names
    print(check_rates())
    overrides = dict(QUICK) if args.quick else {}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.n_train is not None:
        overrides["n_train"] = args.n_train
    if args.seeds:
        overrides["seeds"] = tuple(int(s) for s in args.seeds.split(","))
    if args.betas:
        overrides["betas"] = tuple(float(b) for b in args.betas.split(","))
    variants = args.variants.split(",") if args.variants else VARIANTS
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    overrides["methods"] = ("mmvm", *variants)
    setting = get_setting("cpu", **overrides)
    out = args.out or ("broken-mmvm-quick" if args.quick else "broken-mmvm")
    print(
        f"setting cpu with {', '.join(f'{k}={v}' for k, v in overrides.items())}; "
        f"{len(setting.grid())} fits into {out}/"
    )
    start = time.perf_counter()
    table = run_benchmark(out, setting, progress=False, device=args.device)
    print(f"{len(table)} fits; {time.perf_counter() - start:.0f} s (resumed fits are not redone)")
    print(summarize(table))
    command = shlex.join(["benchmarks/broken_mmvm.py", *sys.argv[1:]])
    print(f"\nreproduce (from the repository root): OMP_NUM_THREADS=1 nice -n 19 python {command}")


if __name__ == "__main__":
    main()
