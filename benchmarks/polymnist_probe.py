"""One PolyMNIST fit, scored by the linear probe: the measurement used to choose a CPU setting.

Fits one ``MultimodalVAE`` on PolyMNIST (untranslated by default) and prints one JSON line:
the options, the probe accuracy of each modality's unimodal posterior means (logistic
regression on 2,000 training latents, scored on 1,000 test tuples; chance 0.1), the fit
time and the last epoch's loss terms. ``--pca`` also prints the same probe on 64
principal components of the pixels (the reference a learned latent should beat);
``--figure PATH`` draws test tuples of m0 and every modality generated from m0.

Examples (repository root, the venv of ``make install``)::

    python benchmarks/polymnist_probe.py --pca --epochs 2
    python benchmarks/polymnist_probe.py --architecture conv --conv-width 32 \\
        --likelihood gaussian --likelihood-scale 0.1 --batch-size 64 --epochs 20

The runs behind docs/reproduction/cpu_setting.md were made with this script (one at a
time or two side by side, as that file says).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import neuromix as nm
from neuromix.datasets import translated_polymnist
from neuromix.evaluation.images import latent_probes

N_TEST, N_PROBE = 1000, 2000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", default="mmvm")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--n-train", type=int, default=5000)
    p.add_argument("--digit-scale", type=float, default=1.0, help="1: untranslated")
    p.add_argument("--architecture", default="conv", choices=["conv", "image", "mlp"])
    p.add_argument("--conv-width", type=int, default=32)
    p.add_argument("--hidden", default="256,256", help="MLP widths (architecture mlp)")
    p.add_argument("--latent-dim", type=int, default=32)
    p.add_argument("--likelihood", default="gaussian", choices=["gaussian", "laplace"])
    p.add_argument("--likelihood-scale", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--precision", default="fp32")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--probe-train", type=int, default=N_PROBE, help="training latents of the probe"
    )
    p.add_argument("--pca", action="store_true")
    p.add_argument("--figure", default=None)
    args = p.parse_args()

    data = {"scale": args.digit_scale}
    X, y = translated_polymnist("train", 3, seed=0, n=args.n_train, **data)
    X_test, y_test = translated_polymnist("test", 3, seed=0, n=N_TEST, **data)
    n_probe = min(args.probe_train, args.n_train)
    probe_train = {m: x[:n_probe] for m, x in X.items()}
    if args.pca:
        from sklearn.decomposition import PCA

        z, z_test = {}, {}
        for m, x in probe_train.items():
            pca = PCA(64, random_state=0).fit(x.reshape(len(x), -1))
            z[m] = pca.transform(x.reshape(len(x), -1))
            z_test[m] = pca.transform(X_test[m].reshape(N_TEST, -1))
        acc = latent_probes(z, y[:n_probe], z_test, y_test, max_train=None)
        print(
            json.dumps(
                {
                    "pixel_pca_probe": round(float(acc.mean()), 4),
                    "per_modality": acc.values.round(3).tolist(),
                }
            )
        )
    vae = nm.MultimodalVAE(
        method=args.method,
        beta=args.beta,
        latent_dim=args.latent_dim,
        likelihood={"name": args.likelihood, "scale": args.likelihood_scale},
        architecture=args.architecture,
        hidden=tuple(int(h) for h in args.hidden.split(",")),
        conv_width=args.conv_width,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        validation_fraction=0.0,
        seed=args.seed,
        device="cpu",
        progress=False,
        precision=args.precision,
    )
    start = time.perf_counter()
    vae.fit(X)
    seconds = time.perf_counter() - start
    acc = latent_probes(
        vae.transform(probe_train), y[:n_probe], vae.transform(X_test), y_test, max_train=None
    )
    last = vae.history_.iloc[-1]
    print(
        json.dumps(
            {
                **{k: v for k, v in vars(args).items() if k not in ("pca", "figure")},
                "probe": round(float(acc.mean()), 4),
                "per_modality": acc.values.round(3).tolist(),
                "fit_seconds": round(seconds, 1),
                "seconds_per_epoch": round(seconds / args.epochs, 2),
                "recon": round(float(last["recon"]), 1),
                "rate": round(float(last["rate"]), 1),
            }
        )
    )
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = list(X_test)
        gen = vae.generate({"m0": X_test["m0"][:8]}, target=names, sample=False)
        fig, axes = plt.subplots(1 + len(names), 8, figsize=(8, 1 + len(names)))
        for j in range(8):
            axes[0, j].imshow(X_test["m0"][j].transpose(1, 2, 0))
            for r, m in enumerate(names):
                axes[r + 1, j].imshow(np.clip(gen[m][j], 0, 1).transpose(1, 2, 0))
        for ax in axes.flat:
            ax.axis("off")
        fig.savefig(args.figure, dpi=80)


if __name__ == "__main__":
    main()
