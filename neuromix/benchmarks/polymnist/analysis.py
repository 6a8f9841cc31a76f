"""Analysis of a PolyMNIST results table: seed-averaged curves, the comparison with
MMVM at matched reconstruction error (:func:`matched_comparison` on seed averages,
:func:`paired_comparison` per seed with a paired test over seeds), the summary table
and the texts on matched comparisons, the verdict and noise in the report."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from neuromix.benchmarks.polymnist.settings import _CHANCE, METHODS, PolyMNISTSetting

__all__ = ["matched_comparison", "paired_comparison"]


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


def _seed_difference(ref: pd.DataFrame, other: pd.DataFrame, x: str, y: str) -> float:
    """Mean of reference minus ``other`` at ``other``'s points inside the reference's range
    of ``x`` (the reference interpolated linearly along ``x``); NaN if none is inside."""
    ref = ref.sort_values(x)
    rx, ry = ref[x].to_numpy(float), ref[y].to_numpy(float)
    ox, oy = other[x].to_numpy(float), other[y].to_numpy(float)
    inside = (ox >= rx.min()) & (ox <= rx.max())
    if not inside.any():
        return np.nan
    return float(np.mean(np.interp(ox[inside], rx, ry) - oy[inside]))


def paired_comparison(
    table: pd.DataFrame, x: str = "recon", y: str = "accuracy", reference: str = "mmvm"
) -> pd.DataFrame:
    """Is ``reference`` higher in ``y`` than each other method at matched ``x``, seed by seed?

    For each other method and each seed s, the reference's curve of that seed (its beta
    points sorted by ``x``) is interpolated linearly at every point of the other method
    of the same seed whose ``x`` lies within the reference's range; the seed's
    difference d_s is the mean of reference minus other over those points. A seed with
    no such point, or without the reference, is left out. Over the seeds with a d_s:
    the mean difference, its 95% Student-t interval, the p-value of the two-sided paired
    t-test of mean zero (:func:`scipy.stats.ttest_1samp` on the d_s) and the number of
    positive d_s. With n seeds the test has n - 1 degrees of freedom: with 3 seeds the
    interval is the mean +- 4.30 standard deviations of the d_s / sqrt(3), so only a
    difference large against its spread over seeds is detected; with one seed there is
    no interval and no test (NaN).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per fit with ``method``, ``beta``, ``seed``, ``x`` and ``y``.
    x : str, default="recon"
        The matched column (lower is better; only its order matters here).
    y : str, default="accuracy"
        The compared column (higher is better).
    reference : str, default="mmvm"

    Returns
    -------
    pandas.DataFrame
        One row per other method (in order of appearance): ``method``, ``n_seeds`` (seeds
        with a d_s), ``mean_difference``, ``ci_low``, ``ci_high``, ``p_value`` and
        ``n_positive``.

    Examples
    --------
    MMVM lies 0.1 above AVG at AVG's points in both seeds (AVG's second point lies
    outside MMVM's range of reconstruction and is not compared):

    >>> table = pd.DataFrame({
    ...     "method": ["mmvm"] * 4 + ["avg"] * 4, "beta": [1.0, 2.0] * 4,
    ...     "seed": [0, 0, 1, 1] * 2,
    ...     "recon": [1.0, 3.0, 1.0, 3.0, 2.0, 4.0, 2.0, 4.0],
    ...     "accuracy": [0.6, 0.8, 0.5, 0.9, 0.6, 0.9, 0.6, 0.9]})
    >>> paired_comparison(table)
      method  n_seeds  mean_difference  ci_low  ci_high  p_value  n_positive
    0    avg        2              0.1     0.1      0.1      0.0           2
    """
    from scipy import stats

    for column in ("method", "seed", x, y):
        if column not in table.columns:
            raise ValueError(f"{column!r} is not a column of table")
    if reference not in set(table["method"]):
        raise ValueError(f"reference method {reference!r} is not in the table")
    rows = []
    for method in pd.unique(table["method"]):
        if method == reference:
            continue
        d = []
        for seed, other in table[table["method"] == method].groupby("seed", sort=True):
            ref = table[(table["method"] == reference) & (table["seed"] == seed)]
            if len(ref):
                d.append(_seed_difference(ref, other, x, y))
        d = np.asarray([v for v in d if np.isfinite(v)])
        n = len(d)
        mean = float(d.mean()) if n else np.nan
        low = high = p = np.nan
        if n >= 2:
            sd = float(d.std(ddof=1))
            half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
            low, high = mean - half, mean + half
            if sd > 1e-12 * max(1.0, abs(mean)):
                p = float(stats.ttest_1samp(d, 0.0).pvalue)
            else:  # identical differences (to rounding): the t statistic is infinite
                p = 0.0 if mean else 1.0
        rows.append(
            {
                "method": method,
                "n_seeds": n,
                "mean_difference": mean,
                "ci_low": low,
                "ci_high": high,
                "p_value": p,
                "n_positive": int((d > 0).sum()),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "method",
            "n_seeds",
            "mean_difference",
            "ci_low",
            "ci_high",
            "p_value",
            "n_positive",
        ],
    )


def _beta_label(beta: float) -> str:
    k = math.log2(beta)
    return f"2^{int(k)}" if float(k).is_integer() else f"{beta:g}"


def _summary_table(table: pd.DataFrame) -> pd.DataFrame:
    cols = ["accuracy", "coherence", "recon", "recon_self", "mae", "mae_self", "fit_seconds"]
    grouped = table.groupby(["method", "beta"], sort=False)
    mean = grouped[cols].mean()
    # the time's median: one fit slowed by other work on the machine does not move it
    mean["fit_seconds"] = grouped["fit_seconds"].median()
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
        f"{len(dominating)} of them {'dominates' if len(dominating) == 1 else 'dominate'} "
        "at least one MMVM point"
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


#: How the report names the methods.
_DISPLAY = {
    "independent": "independent VAEs",
    "avg": "AVG",
    "poe": "PoE",
    "moe": "MoE",
    "mopoe": "MoPoE",
    "mmvm": "MMVM",
}


def _display(method: str) -> str:
    return _DISPLAY.get(method, method)


def _verdict(table: pd.DataFrame, scores, x: str = "recon") -> str:
    """The report's verdict: for every ``(column, name)`` of ``scores``, is MMVM above
    each baseline at matched ``x`` (:func:`paired_comparison`; above/below: the 95%
    interval excludes 0). One sentence over all scores when the seeds allow a paired
    test; else a sentence per score with the single seed's differences."""
    if "mmvm" not in set(table["method"]) or len(set(table["method"])) < 2:
        names = " and ".join(what for _, what in scores)
        return f"{names}: MMVM and at least one other method are needed for a comparison."
    n_seeds = int(table["seed"].nunique())
    if n_seeds < 2:
        return " ".join(_single_seed_text(table, y, what, x) for y, what in scores)
    clauses = [f"MMVM's {what} is {_verdict_clause(table, y, x)}" for y, what in scores]
    return "At matched reconstruction, " + ", while ".join(clauses) + "."


def _single_seed_text(table: pd.DataFrame, y: str, what: str, x: str) -> str:
    cmp = paired_comparison(table, x=x, y=y)
    per_method = [
        f"{_display(r.method)} {r.mean_difference:+.3f}"
        if r.n_seeds
        else f"{_display(r.method)} (no point within MMVM's range of reconstruction)"
        for r in cmp.itertuples()
    ]
    return (
        f"With a single seed no paired test over seeds is possible: at matched "
        f"reconstruction, MMVM's {what} minus that of each method (one seed, no error "
        "bar) is " + "; ".join(per_method) + "."
    )


def _verdict_clause(table: pd.DataFrame, y: str, x: str) -> str:
    """``above A (...); not distinguishable from B (...); and not comparable with C``."""
    cmp = paired_comparison(table, x=x, y=y)
    groups: dict[str, list[str]] = {"above": [], "below": [], "same": [], "none": []}
    for r in cmp.itertuples():
        name = _display(r.method)
        if r.n_seeds == 0:
            groups["none"].append(name)
            continue
        if r.n_seeds < 2:
            groups["same"].append(f"{name} ({r.mean_difference:+.3f}, only 1 seed matched)")
            continue
        stat = (
            f"{name} ({r.mean_difference:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}], "
            f"p = {r.p_value:.2g}, {r.n_positive}/{r.n_seeds} seeds)"
        )
        side = "above" if r.ci_low > 0 else "below" if r.ci_high < 0 else "same"
        groups[side].append(stat)
    parts = []
    if groups["above"]:
        parts.append("above " + _and(groups["above"]))
    if groups["below"]:
        parts.append("below " + _and(groups["below"]))
    if groups["same"]:
        parts.append("not distinguishable from " + _and(groups["same"]))
    if groups["none"]:
        parts.append(
            "not comparable with "
            + _and(groups["none"])
            + " (no point of any seed within MMVM's range of reconstruction)"
        )
    return parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + "; and " + parts[-1]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _verdict_notes(table: pd.DataFrame) -> str:
    """How to read the verdict: what the numbers are, and the power of the test."""
    n = int(table["seed"].nunique())
    text = (
        "In brackets: MMVM minus the method, averaged per seed over the method's beta "
        "points within MMVM's range of reconstruction error (MMVM's curve of the same seed "
        "interpolated linearly at them), then the mean over seeds, its 95% Student-t "
        "interval, the two-sided paired t-test p-value and the number of seeds where MMVM "
        "is higher. Above / below: the interval excludes 0."
    )
    if n >= 2:
        from scipy import stats

        t = float(stats.t.ppf(0.975, n - 1))
        text += (
            f" With {n} seeds the test has {n - 1} degrees of freedom (t = {t:.2f}): a "
            f"difference must exceed about {t / math.sqrt(n):.1f} standard deviations of "
            "its spread over seeds to be detected, so 'not distinguishable' is weak evidence "
            "of no difference."
        )
    return text


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
