"""The minimal MMVM of the alignment reference note, as a baseline of its own.

About sixty lines of plain torch that, at their defaults, share nothing with the package's
models, networks, likelihoods or training loop, written from the recipe of the
measurements the defaults issue builds on: per subject an encoder and a decoder MLP (two
hidden layers of 256, LeakyReLU 0.01), the encoder's log-variance clamped to [-8, 8]; the
Poisson likelihood with the exp link, sum over inputs of exp(eta) - x eta, mean over the
batch (eta capped at 20, e^20 spikes per bin, which the recipe does not say: without it
the fit overflowed to NaN at beta = 10 on a suite dataset); the rate
sum_m mean_k KL(q_m || q_k) (k = m included; gradients through both sides, no N(0, I));
loss = reconstruction + beta x rate; every epoch, for each condition, ``draws`` training
trials drawn with replacement per subject, the i-th draws of all subjects forming one
tuple whose windows are paired window by window; batches of 128, Adam 1e-3, 60 epochs.
Its score is the floor the package's MMVM must reach on every dataset of the suite. Its
defaults are the recipe; its switches (see :func:`minimal_mmvm`) put one of the
package's choices into it at a time, the package's log-variance bound imported from the
package.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neuromix.models.vae import bound_logvar

__all__ = ["minimal_mmvm"]


def _mlp(d_in: int, d_out: int, hidden: int) -> nn.Sequential:
    act = nn.LeakyReLU(0.01)
    return nn.Sequential(
        nn.Linear(d_in, hidden), act, nn.Linear(hidden, hidden), act, nn.Linear(hidden, d_out)
    )


def minimal_mmvm(
    data, latent_dim: int, *, beta=1.0, epochs=60, draws=40, hidden=256, batch_size=128,
    lr=1e-3, likelihood="poisson", seed=0, link="exp", logvar="clamp",
):  # fmt: skip
    """Fit the minimal MMVM on the training rows of ``data`` and embed every row.

    ``data`` maps subject -> :class:`~neuromix.benchmarks.alignment.baselines.SubjectData`
    (windows of every trial with their label, trial, window index and split). Tuples pair
    trials of one label and windows of one index. ``likelihood="gaussian"`` (unit
    variance, for real-valued views) replaces the Poisson term by half the squared error.

    Three differences from the package can be switched in, one at a time, to find which
    of them matters (``benchmarks/reference_switches.py``): ``link="softplus"`` (the
    package's Poisson rate softplus(eta) instead of exp(eta)), ``logvar="soft"`` (the
    package's smooth bounds on the log-variance, :func:`neuromix.models.vae.bound_logvar`,
    instead of the clamp to [-8, 8]) and ``draws="max"`` (per condition as many tuples
    as the largest training-trial count over subjects, as the package's
    ``pairing="resample"`` pairs, instead of a fixed number of draws).

    Returns the latent means of every row (subject -> (n, latent_dim)) and an info dict
    with ``fit_seconds``.
    """
    if link not in ("exp", "softplus") or logvar not in ("clamp", "soft"):
        raise ValueError(f"link must be 'exp' or 'softplus' and logvar 'clamp' or 'soft', "
                         f"got {link!r}, {logvar!r}")  # fmt: skip
    if draws != "max" and not (isinstance(draws, int) and draws > 0):
        raise ValueError(f"draws must be a positive int or 'max', got {draws!r}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    subjects = list(data)
    X = {s: torch.as_tensor(np.asarray(d.X, np.float32)) for s, d in data.items()}
    enc = nn.ModuleList(_mlp(X[s].shape[1], 2 * latent_dim, hidden) for s in subjects)
    dec = nn.ModuleList(_mlp(latent_dim, X[s].shape[1], hidden) for s in subjects)
    # row of (trial, window) of every subject's training trials, grouped by label
    n_win = int(max(d.window.max() for d in data.values())) + 1
    rows, labels = {}, sorted(set.intersection(*(set(d.labels[~d.test]) for d in data.values())))
    for s, d in data.items():
        trials = {}
        for r in np.flatnonzero(~d.test):
            trials.setdefault((d.labels[r], d.trials[r]), np.full(n_win, -1))[d.window[r]] = r
        rows[s] = {c: np.stack([v for (c2, _), v in trials.items() if c2 == c]) for c in labels}
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=lr)
    start = time.perf_counter()
    for _ in range(epochs):
        n = {c: max(len(rows[s][c]) for s in subjects) if draws == "max" else draws
             for c in labels}  # fmt: skip
        tuples = np.concatenate(
            [np.stack([rows[s][c][rng.integers(len(rows[s][c]), size=n[c])].ravel()
                       for s in subjects], axis=1) for c in labels]
        )  # fmt: skip
        tuples = tuples[(tuples >= 0).all(axis=1)]
        for b in np.array_split(rng.permutation(len(tuples)), max(1, len(tuples) // batch_size)):
            xs = [X[s][tuples[b, m]] for m, s in enumerate(subjects)]
            h = torch.stack([e(x) for e, x in zip(enc, xs, strict=True)], dim=1)
            mu, lv = h[..., :latent_dim], h[..., latent_dim:]
            lv = lv.clamp(-8, 8) if logvar == "clamp" else bound_logvar(lv)
            z = mu + torch.randn_like(mu) * (0.5 * lv).exp()
            recon = 0.0
            for m, x in enumerate(xs):
                eta = dec[m](z[:, m])
                if likelihood == "gaussian":
                    nll = 0.5 * (eta - x) ** 2
                elif link == "exp":
                    eta = eta.clamp(max=20.0)  # e^20 spikes per bin: no overflow
                    nll = eta.exp() - x * eta
                else:
                    rate = F.softplus(eta)
                    nll = rate - x * torch.log(rate.clamp(min=1e-30))
                recon = recon + nll.sum(dim=1).mean()
            m_, k_ = mu.unsqueeze(2), mu.unsqueeze(1)  # KL(q_m || q_k): (batch, m, k)
            lm, lk = lv.unsqueeze(2), lv.unsqueeze(1)
            kl = 0.5 * (lk - lm + (lm.exp() + (m_ - k_) ** 2) / lk.exp() - 1).sum(-1)
            loss = recon + beta * kl.mean(dim=2).sum(dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        latents = {s: enc[m](X[s])[:, :latent_dim].numpy() for m, s in enumerate(subjects)}
    return latents, {"fit_seconds": seconds}
