"""Training speed of the paper's rat configuration: package path vs a plain per-subject loop.

Five subjects with 920, 790, 1040, 490 and 460 inputs (neurons x 10 lags), the paper's
MLPs, latent 2, 2,448 paired samples, batch 128, MMVM (pairwise rate), Gaussian
likelihood. In the same run:

* the package's training path (``MultimodalVAE`` internals: batched per-subject MLPs,
  data in device tensors, fused Adam), at several padding bounds of the subject grouping,
  with the path ``fit`` chooses on this machine (grouped matmuls or member by member,
  :func:`neuromix.models.networks.choose_path`) and with each path forced;
* the plain reference: one ``nn.Sequential`` per subject in a Python loop, default
  ``torch.optim.Adam``, batches cut from tensors by index (no DataLoader) — what a
  careful user would write by hand;
* the package's path with ``precision="bf16"`` (autocast; where the CPU has native
  bf16, AVX-512 BF16 or AMX);
* the machine's fp32 and bf16 peaks, from a large ``torch.bmm``;
* the floor that bf16 cannot go under at this batch size: the epoch's FLOPs at the bf16
  peak plus, per optimiser step, the work whose cost is set by the parameter count and
  memory bandwidth, not by the matmul rate: the fused Adam step over the fp32 weights and
  fp32 moments (the issue keeps the optimiser state in fp32), the gradient norm (the
  divergence guard), and autocast's casts of the weights to bf16 and of their gradients
  back, each timed alone on the package's own parameter list.

Prints seconds per epoch, achieved GFLOP/s (a nominal 72 MFLOP per paired sample,
forward and backward: 24 x sum_m D_m^2) and the ratios, plus the peak resident memory
of the package fit (measured before the reference runs).

Run: ``make bench-train`` or ``python benchmarks/train_speed.py [--epochs 3]``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np
import torch
from torch import nn

import neuromix as nm
from neuromix.models.gaussian import kl_normal
from neuromix.models.networks import BatchedMLP, choose_path
from neuromix.models.vae import bf16_supported
from neuromix.training.loop import _epoch, make_optimizer
from neuromix.training.samplers import ArraySampler

SIZES = {"Barat": 920, "Buchanan": 790, "Mitt": 1040, "Stella": 490, "SuperChris": 460}
N_SAMPLES, BATCH, LATENT = 2448, 128, 2
FLOP_PER_SAMPLE = 24 * sum(d * d for d in SIZES.values())  # ~72 MFLOP
CHOSEN: list[str] = []  # the path choose_path picked for the encoders and the decoders


def peak_gflops(repeats: int = 5, dtype=torch.float32) -> float:
    a = torch.randn(8, 1024, 1024, dtype=dtype)
    b = torch.randn(8, 1024, 1024, dtype=dtype)
    torch.bmm(a, b)
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        torch.bmm(a, b)
        best = max(best, 2 * 8 * 1024**3 / (time.perf_counter() - t) / 1e9)
    return best


def per_step_floor(repeats: int = 10) -> dict[str, float]:
    """Seconds per optimiser step of the parameter-bound work, timed alone (best of repeats)."""
    from neuromix.training.loop import _grad_norm

    vae = nm.MultimodalVAE(method="mmvm", latent_dim=LATENT, batch_size=BATCH, device="cpu")
    vae._build(list(SIZES), {s: (d,) for s, d in SIZES.items()})
    params = [p for p in vae.module_.parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    optimizer = make_optimizer(params, 1e-3)
    optimizer.step()  # allocates the moments

    def best(fn):
        fn()
        out = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            out = min(out, time.perf_counter() - t)
        return out

    big = [p for p in params if p.dim() >= 2]  # what autocast casts: the matmul weights
    grads_bf16 = [p.grad.to(torch.bfloat16) for p in big]
    return {
        "n_params": sum(p.numel() for p in params),
        "Adam step (fp32 weights and moments)": best(optimizer.step),
        "gradient norm": best(lambda: _grad_norm([p.grad for p in params])),
        "weight casts fp32 -> bf16": best(lambda: [p.to(torch.bfloat16) for p in big]),
        "gradient casts bf16 -> fp32": best(lambda: [g.float() for g in grads_bf16]),
    }


def package_epochs(
    data, epochs: int, max_padding: float, precision: str = "fp32", path: str = "chosen"
) -> list[float]:
    """Seconds per epoch of the package's path; ``path`` is "grouped", "members" or
    "chosen" (what :func:`~neuromix.models.networks.choose_path` picks, as ``fit`` does)."""
    vae = nm.MultimodalVAE(
        method="mmvm", latent_dim=LATENT, batch_size=BATCH, device="cpu", precision=precision
    )
    vae._build(list(SIZES), {s: (d,) for s, d in SIZES.items()})
    if max_padding != 0.15:  # rebuild the MLPs with another grouping bound
        from neuromix.models.architectures import build_networks

        gen = torch.Generator().manual_seed(0)
        enc, dec = build_networks(
            [(d,) for d in SIZES.values()],
            list(vae.likelihoods_.values()),
            ["mlp"] * len(SIZES),
            LATENT,
            max_padding=max_padding,
            generator=gen,
        )
        vae.module_.encoders, vae.module_.decoders = enc, dec
    for mlp in vae.module_.modules():
        if isinstance(mlp, BatchedMLP):
            if path == "chosen":
                CHOSEN.append("grouped" if choose_path(mlp, BATCH) else "members")
            else:
                mlp.grouped = path == "grouped"
    sampler = ArraySampler([torch.as_tensor(data[s]) for s in SIZES])
    optimizer = make_optimizer(vae.module_.parameters(), 1e-3)
    gen = torch.Generator().manual_seed(0)
    times = []
    for epoch in range(epochs + 1):  # the first epoch warms up
        t = time.perf_counter()
        _epoch(
            vae.module_,
            sampler,
            batch_size=BATCH,
            beta=1.0,
            epoch=epoch,
            generator=gen,
            optimizer=optimizer,
        )
        times.append(time.perf_counter() - t)
    return times[1:]


class Reference(nn.Module):
    """The paper's networks as plain per-subject ``nn.Sequential`` modules."""

    def __init__(self):
        super().__init__()

        def encoder(d):
            return nn.Sequential(
                nn.Linear(d, d),
                nn.LeakyReLU(0.01),
                nn.Linear(d, d),
                nn.LeakyReLU(0.01),
                nn.Linear(d, LATENT),
                nn.LeakyReLU(0.01),
                nn.Linear(LATENT, 2 * LATENT),
            )

        def decoder(d):
            return nn.Sequential(
                nn.Linear(LATENT, d),
                nn.LeakyReLU(0.01),
                nn.Linear(d, d),
                nn.LeakyReLU(0.01),
                nn.Linear(d, d),
            )

        self.encoders = nn.ModuleList(encoder(d) for d in SIZES.values())
        self.decoders = nn.ModuleList(decoder(d) for d in SIZES.values())

    def loss(self, xs):
        mus, logvars = [], []
        for enc, x in zip(self.encoders, xs, strict=True):
            mu, logvar = enc(x).chunk(2, dim=-1)
            mus.append(mu)
            logvars.append(logvar)
        recon = 0.0
        for dec, x, mu, logvar in zip(self.decoders, xs, mus, logvars, strict=True):
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            recon = recon + 0.5 * ((dec(z) - x) ** 2).sum(-1)
        rate = 0.0
        m = len(xs)
        for i in range(m):
            for k in range(m):
                rate = rate + kl_normal(mus[i], logvars[i], mus[k], logvars[k]) / m
        return (recon + rate).mean()


def reference_epochs(data, epochs: int) -> list[float]:
    torch.manual_seed(0)
    model = Reference()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xs_all = [torch.as_tensor(data[s]) for s in SIZES]
    times = []
    for _ in range(epochs + 1):
        t = time.perf_counter()
        perm = torch.randperm(N_SAMPLES)
        for start in range(0, N_SAMPLES, BATCH):
            idx = perm[start : start + BATCH]
            loss = model.loss([x[idx] for x in xs_all])
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="measured epochs per variant")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    rng = np.random.default_rng(0)
    data = {s: rng.poisson(0.3, size=(N_SAMPLES, d)).astype(np.float32) for s, d in SIZES.items()}
    gflop_epoch = FLOP_PER_SAMPLE * N_SAMPLES / 1e9
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"{FLOP_PER_SAMPLE / 1e6:.1f} MFLOP per paired sample, {gflop_epoch:.0f} GFLOP per epoch"
    )

    results = {}
    for padding in (0.15, 0.0, 0.3):
        results[f"package (max_padding={padding})"] = statistics.median(
            package_epochs(data, args.epochs, padding)
        )
        if padding == 0.15:
            rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
            for path in ("grouped", "members"):
                results[f"package, {path} only"] = statistics.median(
                    package_epochs(data, args.epochs, padding, path=path)
                )
    bf16 = bf16_supported("cpu")
    if bf16:
        results["package, precision='bf16'"] = statistics.median(
            package_epochs(data, args.epochs, 0.15, "bf16")
        )
    results["plain per-subject loop"] = statistics.median(reference_epochs(data, args.epochs))
    peak = peak_gflops()
    peak_bf16 = peak_gflops(dtype=torch.bfloat16) if bf16 else float("nan")

    floor = per_step_floor() if bf16 else {}
    ref = results["plain per-subject loop"]
    print(
        f"\nfp32 peak (large torch.bmm, best of 5): {peak:.0f} GFLOP/s; "
        f"bf16 peak: {peak_bf16:.0f} GFLOP/s\n"
    )
    print(f"{'variant':34s} {'s/epoch':>8s} {'GFLOP/s':>8s} {'% peak':>7s} {'vs loop':>8s}")
    for name, sec in results.items():
        gflops = gflop_epoch / sec
        print(f"{name:34s} {sec:8.3f} {gflops:8.1f} {100 * gflops / peak:6.1f}% {ref / sec:7.2f}x")
    print(
        "\npath chosen by choose_path (encoders, decoders) at max_padding=0.15: "
        + ", ".join(CHOSEN[:2])
    )
    print(f"peak resident memory after the package fit: {rss_gb:.2f} GB")
    default = results["package (max_padding=0.15)"]
    print(
        f"targets: >= 1.5x the loop: {ref / default:.2f}x; "
        f">= 60% of peak: {100 * gflop_epoch / default / peak:.0f}%; "
        f"memory < 2 GB: {rss_gb:.2f} GB"
    )
    if bf16:
        sec = results["package, precision='bf16'"]
        print(
            f"bf16: {ref / sec:.2f}x the plain fp32 loop (target >= 2.5x), "
            f"{default / sec:.2f}x the package in fp32, "
            f"{100 * gflop_epoch / sec / peak_bf16:.0f}% of the bf16 peak"
        )
        steps = -(-N_SAMPLES // BATCH)
        matmul = gflop_epoch / peak_bf16
        print(
            f"\nfloor of a bf16 epoch ({steps} steps of batch {BATCH}, "
            f"{floor['n_params'] / 1e6:.1f} M parameters), each part timed alone:"
        )
        print(f"  {'matmuls at the bf16 peak':40s} {matmul:6.3f} s/epoch")
        bound = matmul
        for name, sec_step in floor.items():
            if name == "n_params":
                continue
            print(f"  {name:40s} {steps * sec_step:6.3f} s/epoch ({1e3 * sec_step:.1f} ms/step)")
            bound += steps * sec_step
        no_casts = bound - steps * (
            floor["weight casts fp32 -> bf16"] + floor["gradient casts bf16 -> fp32"]
        )
        print(
            f"  floor with autocast's casts: {bound:.3f} s/epoch = {ref / bound:.2f}x the loop; "
            f"without them (bf16 weights kept between steps): {no_casts:.3f} s/epoch = "
            f"{ref / no_casts:.2f}x the loop (target 2.5x needs {ref / 2.5:.3f} s/epoch)"
        )
    else:
        print("bf16: this CPU has no native bf16 matrix products (AVX-512 BF16 or AMX)")


if __name__ == "__main__":
    main()
