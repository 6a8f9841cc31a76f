"""Analysis of a PolyMNIST results table: seed-averaged curves, the comparison with
MMVM at matched reconstruction error (:func:`matched_comparison`), the summary table
and the texts on matched comparisons and on noise in the report."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from neuromix.benchmarks.polymnist.settings import _CHANCE, METHODS, PolyMNISTSetting

__all__ = ["matched_comparison"]


def _curves(table: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Seed-averaged points: one row per (method, beta)."""
    return table.groupby(["method", "beta"], sort=False)[[x, y]].mean().reset_index()


def matched_comparison(
    table: pd.DataFrame, *, x: str = "recon", y: str = "accuracy", reference: str = "mmvm"
) -> pd.DataFrame:
    """Compare every other method with ``reference`` at matched ``x`` (e.g. reconstruction).

    Points are seed averages per (method, beta). For each point of another method, the
    reference curve (its points sorted by ``x``) is interpolated linearly at the point's
    ``x``; outside the reference's range of ``x`` there is no matched value (NaN).
    Lower ``x`` and higher ``y`` are better.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per fit with ``method``, ``beta``, ``x`` and ``y``.
    x, y : str
        Columns.
    reference : str
        The method compared with all others.

    Returns
    -------
    pandas.DataFrame
        One row per point of another method: ``method``, ``beta``, ``x``, ``y``,
        ``reference_y`` (interpolated; NaN outside the range), ``difference``
        (``reference_y - y``), ``dominated`` (a reference point has ``x`` no larger and
        ``y`` no smaller, one of them strictly) and ``dominates`` (this point dominates
        some reference point).

    Examples
    --------
    >>> table = pd.DataFrame({"method": ["mmvm"] * 2 + ["avg"] * 2, "beta": [1.0, 2.0] * 2,
    ...                       "recon": [1.0, 3.0, 2.0, 4.0], "accuracy": [0.6, 0.8, 0.5, 0.9]})
    >>> matched_comparison(table)[["method", "beta", "reference_y", "dominated"]]
      method  beta  reference_y  dominated
    0    avg   1.0          0.7       True
    1    avg   2.0          NaN      False
    """
    if reference not in set(table["method"]):
        raise ValueError(f"reference method {reference!r} is not in the table")
    points = _curves(table, x, y)
    ref = points[points["method"] == reference].sort_values(x)
    rx, ry = ref[x].to_numpy(float), ref[y].to_numpy(float)
    rows = []
    for _, p in points[points["method"] != reference].iterrows():
        px, py = float(p[x]), float(p[y])
        inside = rx.min() <= px <= rx.max()
        matched = float(np.interp(px, rx, ry)) if inside else np.nan
        dominated = bool(np.any((rx <= px) & (ry >= py) & ((rx < px) | (ry > py))))
        dominates = bool(np.any((px <= rx) & (py >= ry) & ((px < rx) | (py > ry))))
        rows.append(
            {
                "method": p["method"],
                "beta": float(p["beta"]),
                "x": px,
                "y": py,
                "reference_y": matched,
                "difference": matched - py,
                "dominated": dominated,
                "dominates": dominates,
            }
        )
    return pd.DataFrame(rows)


def _beta_label(beta: float) -> str:
    k = math.log2(beta)
    return f"2^{int(k)}" if float(k).is_integer() else f"{beta:g}"


def _summary_table(table: pd.DataFrame) -> pd.DataFrame:
    cols = ["accuracy", "coherence", "recon", "recon_self", "mae", "mae_self", "fit_seconds"]
    grouped = table.groupby(["method", "beta"], sort=False)[cols]
    mean = grouped.mean()
    n_seeds = grouped.size()
    out = mean.reset_index()
    out["seeds"] = n_seeds.to_numpy()
    order = {m: i for i, m in enumerate(METHODS)}
    out = out.sort_values(
        ["method", "beta"], key=lambda s: s.map(order) if s.name == "method" else s
    )
    out["beta"] = out["beta"].map(_beta_label)
    out["fit_seconds"] = out["fit_seconds"].round(0)
    return out.reset_index(drop=True)


def _matched_text(table: pd.DataFrame, x: str, y: str, what: str) -> str:
    if "mmvm" not in set(table["method"]) or len(set(table["method"])) < 2:
        return f"- {what}: MMVM and at least one other method are needed for a comparison."
    cmp = matched_comparison(table, x=x, y=y)
    inside = cmp.dropna(subset=["reference_y"])
    lines = []
    if len(inside):
        above = int((inside["difference"] > 0).sum())
        lines.append(
            f"- {what}: of the {len(cmp)} points of the other methods, {len(inside)} lie within "
            f"MMVM's range of reconstruction error; at the same reconstruction error MMVM is "
            f"higher at {above} of them (mean difference {inside['difference'].mean():+.3f})."
        )
    else:
        lines.append(
            f"- {what}: no point of another method lies within MMVM's range of reconstruction "
            "error, so nothing is compared at exactly matched reconstruction."
        )
    dominated = int(cmp["dominated"].sum())
    dominating = cmp[cmp["dominates"]]
    lines.append(
        f"  Pareto view: {dominated} of {len(cmp)} points of the other methods are dominated by "
        "an MMVM point (reconstruction no worse and score no lower, one of them strictly); "
        f"{len(dominating)} of them dominate at least one MMVM point"
        + (
            " ("
            + ", ".join(
                f"{m}: beta {', '.join(_beta_label(b) for b in rows.beta)}"
                for m, rows in dominating.groupby("method", sort=False)
            )
            + ")."
            if len(dominating)
            else "."
        )
    )
    per_method = []
    for method, rows in cmp.groupby("method", sort=False):
        matched = rows.dropna(subset=["reference_y"])
        if len(matched):
            per_method.append(f"{method} {matched['difference'].mean():+.3f}")
        else:
            ref_x = table[table.method == "mmvm"][x]
            if (rows["x"] < ref_x.min()).all():
                side = "all lower, better"
            elif (rows["x"] > ref_x.max()).all():
                side = "all higher, worse"
            else:
                side = "on both sides"
            per_method.append(f"{method} (reconstruction outside MMVM's range: {side})")
    lines.append(
        "  Mean MMVM advantage at matched reconstruction, per method: "
        + "; ".join(per_method)
        + "."
    )
    return "\n".join(lines)


def _noise_text(table: pd.DataFrame, setting: PolyMNISTSetting, n_test: int) -> str:
    """How large a difference has to be before it means something."""
    m = setting.n_modalities
    counts = {"accuracy": n_test * m, "coherence": n_test * m * (m - 1)}
    parts = []
    for name, n in counts.items():
        p = float(table[name].mean())
        se = math.sqrt(p * (1 - p) / n)
        parts.append(
            f"{name} {table[name].min():.3f}-{table[name].max():.3f} (one binomial standard "
            f"error at the mean: {se:.3f})"
        )
    seeds = table.groupby(["method", "beta"])["seed"].nunique()
    if int(seeds.min()) > 1:
        spread = table.groupby(["method", "beta"])[["accuracy", "coherence"]].std().mean()
        seed_text = (
            f"The mean standard deviation over seeds is {spread['accuracy']:.3f} (accuracy) "
            f"and {spread['coherence']:.3f} (coherence)."
        )
    else:
        seed_text = (
            "With one seed per point the variation between seeds, usually the larger "
            "part, is not measured."
        )
    return (
        "**Reading these numbers.** Over all fits the scores range: "
        + "; ".join(parts)
        + f"; chance is {_CHANCE}. The standard errors count the {n_test:,} test tuples "
        "of every modality (pair) as independent, so they are lower bounds. "
        + seed_text
        + " Differences between methods smaller than about three of these standard errors "
        "are not evidence for either."
    )
