"""``neuromix demo``: fit the methods on synthetic multi-view data and compare them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

import neuromix as nm

__all__ = ["run_demo"]


def run_demo(out="neuromix-demo", *, quick: bool = False, seed: int = 0, progress: bool = True):
    """Fit the six methods on :func:`~neuromix.datasets.make_multiview` data; print a table.

    For each method: validation loss, how well each view's latent decodes the shared
    class on held-out samples (logistic regression), cross-view transfer (train on view
    a's latents, test on view b's) and the distance between views' latents relative
    to their spread.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = 600 if quick else 2000
    X, truth = nm.datasets.make_multiview(n_samples=n, seed=seed)
    labels = truth["labels"]
    test = np.arange(n) >= int(0.8 * n)
    train_X = {s: x[~test] for s, x in X.items()}
    test_X = {s: x[test] for s, x in X.items()}
    rows = {}
    for method in nm.models.available():
        t0 = time.perf_counter()
        vae = nm.MultimodalVAE(
            method=method,
            latent_dim=2,
            beta=0.1,
            epochs=15 if quick else 60,
            lr=3e-3,
            batch_size=64,
            seed=seed,
            progress=progress,
        ).fit(train_X)
        z_train, z_test = vae.transform(train_X), vae.transform(test_X)
        acc, transfer = [], []
        for a in X:
            clf = LogisticRegression(max_iter=1000).fit(z_train[a], labels[~test])
            acc.append(clf.score(z_test[a], labels[test]))
            transfer += [clf.score(z_test[b], labels[test]) for b in X if b != a]
        spread = np.mean([z.std(0).mean() for z in z_test.values()])
        dist = (
            np.mean(
                [
                    np.linalg.norm(z_test[a] - z_test[b], axis=1).mean()
                    for a in X
                    for b in X
                    if a < b
                ]
            )
            / spread
        )
        rows[method] = {
            "val_loss": float(vae.history_["val_loss"].iloc[-1]),
            "decoding": float(np.mean(acc)),
            "transfer": float(np.mean(transfer)),
            "distance_over_spread": float(dist),
            "seconds": time.perf_counter() - t0,
        }
    chance = float(np.bincount(labels[test]).max() / test.sum())
    print(
        f"\nSynthetic multi-view data: {len(X)} views, {n} samples, "
        f"{len(np.unique(labels))} classes (majority-class rate {chance:.2f})"
    )
    print(
        f"{'method':12s} {'val loss':>9s} {'decoding':>9s} {'transfer':>9s} "
        f"{'dist/spread':>12s} {'s':>6s}"
    )
    for method, r in rows.items():
        print(
            f"{method:12s} {r['val_loss']:9.2f} {r['decoding']:9.2f} {r['transfer']:9.2f} "
            f"{r['distance_over_spread']:12.2f} {r['seconds']:6.1f}"
        )
    (out / "metrics.json").write_text(json.dumps({"chance": chance, "methods": rows}, indent=1))
    print(f"\nmetrics written to {out / 'metrics.json'}")
    return rows
