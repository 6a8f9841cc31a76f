"""A new rat into a fitted space: ``add_subject`` against the joint fit of all rats.

On the five simulated rats (``simulate_odor_sequence(seed=...)``): ``neuromix.fit`` at its
defaults on all five rats (the joint fit), then for each rat in turn (``--rats``) a fit
at the defaults on the other four and ``add_subject`` of that rat. The new rat's
held-out accuracy (within: decoded by a classifier of its own training latents) and
its transfer (the mean over the other rats of training on one and testing on the other,
both ways) are compared with the same rat's in the joint fit, and the time of
``add_subject`` with the joint fit's. Both fits see the same trials: the train,
validation and test trials of a rat depend only on the seed and the rat. Run alone
(another busy process slows torch several times over)::

    python benchmarks/add_subject.py --seed 0 --out docs/results/add_subject
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path


def _scores(model, rat) -> dict:
    """The rat's held-out within accuracy and its mean transfer to and from the others."""
    table = model.alignment()
    dim = model.subject_dim
    others = [s for s in model.subjects_ if s != rat]
    transfer = table["transfer"]
    into = transfer.sel({f"train_{dim}": others, f"test_{dim}": rat}).values
    out = transfer.sel({f"train_{dim}": rat, f"test_{dim}": others}).values
    return {
        "within": float(table["accuracy"].sel({dim: rat})),
        "transfer": float((into.mean() + out.mean()) / 2),
        "mean_transfer_all": float(table.attrs["mean_transfer"]),
    }


def main() -> None:
    import torch

    import neuromix as nm

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="simulator and model seed")
    parser.add_argument("--rats", help="comma-separated rats to add in turn (default: all)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", default="docs/results/add_subject")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rec = nm.datasets.simulate_odor_sequence(seed=args.seed)
    rats = list(rec)
    chosen = args.rats.split(",") if args.rats else rats
    common = {"subject_dim": "rat", "seed": args.seed, "progress": False}
    path = out / f"seed{args.seed}.json"
    result = json.loads(path.read_text()) if path.exists() else {"seed": args.seed, "rats": {}}
    if "joint" not in result:
        start = time.perf_counter()
        joint = nm.fit(rec, **common)
        seconds = time.perf_counter() - start
        result["joint"] = {
            "seconds": seconds,
            "beta": joint.beta_,
            "best_epoch": joint.best_epoch_,
            "scores": {r: _scores(joint, r) for r in rats},
        }
        path.write_text(json.dumps(result, indent=1))
    for rat in chosen:
        if rat in result["rats"]:
            continue
        start = time.perf_counter()
        model = nm.fit({r: rec[r] for r in rats if r != rat}, **common)
        fit_seconds = time.perf_counter() - start
        before = model.latents()
        start = time.perf_counter()
        model.add_subject({rat: rec[rat]})
        add_seconds = time.perf_counter() - start
        after = model.latents()
        unchanged = bool((after.sel(sample=after.rat != rat).values == before.values).all())
        addition = model.vae_.additions_[rat]
        result["rats"][rat] = {
            "fit_seconds": fit_seconds,
            "add_seconds": add_seconds,
            "beta": model.beta_,
            "add_best_epoch": addition["best_epoch"],
            "add_epochs": len(addition["history"]),
            "fitted_latents_unchanged": unchanged,
            "scores": _scores(model, rat),
        }
        path.write_text(json.dumps(result, indent=1))
        print(rat, json.dumps(result["rats"][rat]), flush=True)
    report(out)


def report(out: Path) -> None:
    """``add_subject.md``: per seed and rat, the added rat against the joint fit."""
    lines = [
        "# A new rat into a fitted space",
        "",
        "`python benchmarks/add_subject.py --seed S`: each rat added by `add_subject` to a",
        "fit of the other four (neuromix.fit defaults), against the same rat in the joint",
        "fit of all five. Within: held-out accuracy of the rat's own classifier; transfer:",
        "mean over the other rats of held-out transfer to and from it. Time: `add_subject`",
        "against the joint fit (the machine may have been busy: the ratio is the measure).",
        "",
        "| seed | rat | within added / joint | transfer added / joint | add s / joint s | "
        "fitted latents unchanged |",
        "|---|---|---|---|---|---|",
    ]
    deltas, ratios = [], []
    for path in sorted(out.glob("seed*.json")):
        result = json.loads(path.read_text())
        joint = result["joint"]
        for rat, row in result["rats"].items():
            a, j = row["scores"], joint["scores"][rat]
            ratio = row["add_seconds"] / joint["seconds"]
            deltas.append((a["within"] - j["within"], a["transfer"] - j["transfer"]))
            ratios.append(ratio)
            lines.append(
                f"| {result['seed']} | {rat} | {a['within']:.2f} / {j['within']:.2f} | "
                f"{a['transfer']:.2f} / {j['transfer']:.2f} | {row['add_seconds']:.0f} / "
                f"{joint['seconds']:.0f} = {ratio:.2f} | {row['fitted_latents_unchanged']} |"
            )
    if deltas:
        worst_w = min(d[0] for d in deltas)
        worst_t = min(d[1] for d in deltas)
        lines += [
            "",
            f"Worst difference added - joint: within {worst_w:+.2f}, transfer {worst_t:+.2f} "
            f"(target: no worse than -0.05). Time of add_subject: "
            f"{min(ratios):.2f}-{max(ratios):.2f} of the joint fit's "
            f"(mean {sum(ratios) / len(ratios):.2f}).",
        ]
    (out / "add_subject.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
