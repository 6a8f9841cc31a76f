"""Cross-subject prediction of spike counts, in bits per spike.

Subjects are recorded on different trials, so subject m's held-out trial predicts
subject k's held-out trials *of the same condition*: the rates that k's decoder gives
from m's latent are scored on k's binned counts by the Poisson log-likelihood, relative
to each unit's mean rate, in bits per spike -- the unit of the Neural Latents Benchmark
(Pei et al. 2021)::

    bits/spike = (log L(rates) - log L(unit mean rates)) / (n_spikes * log 2)

Every trial of m is paired with every trial of k of its condition, and the score is the
mean over those pairs, computed without forming them: for a condition, the sum over
pairs of ``x_k . log r_m`` is the sum of the Gram matrix of k's counts and m's log
rates, so intervals that resample the trials of both subjects resample its rows and
columns.

Shape convention: per subject, ``counts`` and ``rates`` are ``(trial, window,
feature)``, ``feature`` being the window's ``unit * lag + lag_bin``; ``labels`` one
condition per trial. The unit mean rate (the null model) is each feature's unit's
mean over the held-out trials, windows and lags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import xarray as xr

__all__ = ["bits_per_spike", "condition_psth", "cross_prediction", "unit_mean_rates"]

#: Rates are floored here before their log: a spike at rate 0 would cost infinitely many
#: bits (the Neural Latents Benchmark's evaluation floors rates the same way).
RATE_FLOOR = 1e-9


def unit_mean_rates(counts: np.ndarray, n_units: int) -> np.ndarray:
    """Each feature's unit mean count per bin, over trials, windows and lags.

    ``counts``: ``(..., feature)`` with ``feature = unit * lag + lag_bin``; returns
    ``(feature,)``.
    """
    counts = np.asarray(counts, dtype=float)
    flat = counts.reshape(-1, n_units, counts.shape[-1] // n_units)
    per_unit = flat.mean(axis=(0, 2))
    return np.repeat(per_unit, counts.shape[-1] // n_units)


def condition_psth(counts, labels, n_units: int, *, prior_trials: float = 1.0) -> dict:
    """Each condition's mean counts per window and feature, shrunk toward the unit mean.

    ``(sum over the condition's trials + prior_trials x unit mean rate) / (n_trials +
    prior_trials)``: the posterior mean under a Gamma prior at each unit's mean rate
    worth ``prior_trials`` trials. Without it a bin where a unit never fired in the
    training trials would predict a rate of 0, and one held-out spike there would cost
    about 30 bits.

    Parameters
    ----------
    counts : array (trial, window, feature)
    labels : array (trial,)
    n_units : int
    prior_trials : float, default=1.0

    Returns
    -------
    dict condition -> array (window, feature)

    Examples
    --------
    >>> counts = np.zeros((2, 1, 2)); counts[:, 0, 0] = 2.0  # unit 0 at 2, unit 1 silent
    >>> psth = condition_psth(counts, ["a", "a"], 2)
    >>> psth["a"].tolist()  # (2 + 2 + 2) / 3 for unit 0; unit 1 stays 0
    [[2.0, 0.0]]
    """
    counts = np.asarray(counts, dtype=float)
    labels = np.asarray(labels)
    prior = unit_mean_rates(counts, n_units)
    return {
        c: (counts[idx].sum(axis=0) + prior_trials * prior) / (len(idx) + prior_trials)
        for c, idx in _per_condition(labels).items()
    }


def _log_likelihood(rates, counts) -> np.ndarray:
    """Poisson log-likelihood without its log(x!) term, summed over all but axis 0."""
    rates = np.maximum(np.asarray(rates, dtype=float), RATE_FLOOR)
    counts = np.asarray(counts, dtype=float)
    ll = counts * np.log(rates) - rates
    return ll.reshape(ll.shape[0], -1).sum(axis=1)


def bits_per_spike(rates, counts, null_rates=None) -> float:
    """Bits per spike of predicted ``rates`` on ``counts`` against a null model.

    Parameters
    ----------
    rates, counts : array of shape (n, feature)
        Predicted mean counts per bin and the observed counts.
    null_rates : array of shape (feature,), optional
        The null model's rates; default each feature's mean count over ``counts`` (the
        Neural Latents Benchmark's baseline when features are units).

    Returns
    -------
    float
        0 for the null model itself, positive for a better prediction; NaN without
        spikes.

    Examples
    --------
    >>> counts = np.array([[0.0, 2.0], [2.0, 0.0]])
    >>> bits_per_spike(counts.mean(axis=0, keepdims=True).repeat(2, 0), counts)
    0.0
    >>> round(bits_per_spike(counts + 1e-3, counts), 2)  # knowing each bin's count
    1.0
    """
    counts = np.asarray(counts, dtype=float)
    rates = np.broadcast_to(np.asarray(rates, dtype=float), counts.shape)
    if null_rates is None:
        null_rates = counts.reshape(-1, counts.shape[-1]).mean(axis=0)
    null = np.broadcast_to(np.asarray(null_rates, dtype=float), counts.shape)
    spikes = counts.sum()
    if spikes <= 0:
        return float("nan")
    gain = _log_likelihood(rates, counts).sum() - _log_likelihood(null, counts).sum()
    return float(gain / (spikes * math.log(2.0)))


def _per_condition(labels) -> dict:
    labels = np.asarray(labels)
    return {c: np.flatnonzero(labels == c) for c in dict.fromkeys(labels.tolist())}


def cross_prediction(
    counts: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    rates: Mapping[tuple[str, str], np.ndarray],
    *,
    n_units: Mapping[str, int],
    psth: Mapping[str, Mapping] | None = None,
    n_boot: int = 200,
    seed: int = 0,
    dims: tuple[str, str] = ("source", "target"),
) -> xr.Dataset:
    """Bits per spike of every target subject's held-out trials predicted from every
    source subject's held-out trials of the same condition.

    Parameters
    ----------
    counts : mapping subject -> array (trial, window, feature)
        Held-out counts of each target subject.
    labels : mapping subject -> array (trial,)
        Condition of each held-out trial of each subject.
    rates : mapping (source, target) -> array (trial of source, window, feature)
        The target's predicted rates from each held-out trial of the source. For
        ``source == target`` (the diagonal) each trial is scored on itself, not paired
        with the others (the reconstruction from the subject's own latent).
    n_units : mapping subject -> int
        Units of each target (the null model pools each unit's lags).
    psth : mapping subject -> mapping condition -> array (window, feature), optional
        Each target's condition-mean rates from its training trials: the ceiling
        that knows the condition and the time in the trial. With it, ``psth`` and
        ``fraction`` (bits per spike over the PSTH's) are returned.
    n_boot : int, default=200
        Bootstrap resamples of the held-out trials (of source and target, within
        condition) for the 95% intervals; 0 for none.
    seed : int, default=0
    dims : tuple of two str
        Names of the source and target dimensions.

    Returns
    -------
    xarray.Dataset
        ``bits_per_spike`` (source x target) and ``bits_per_spike_ci`` (with ``bound``);
        with ``psth``: ``psth`` and ``psth_ci`` (target) and ``fraction``
        (source x target). Attributes ``mean_bits_per_spike`` (over ordered pairs of
        different subjects) and, with ``psth``, ``mean_fraction`` (that mean over the
        mean ceiling of the same pairs). Pairs of a condition only one of the two subjects has are
        left out; a pair with no shared condition is NaN.
    """
    names = list(counts)
    rng = np.random.default_rng(seed)
    n = len(names)
    value = np.full((n, n), np.nan)
    interval = np.full((n, n, 2), np.nan)
    ceiling = np.full(n, np.nan)
    ceiling_ci = np.full((n, 2), np.nan)
    for j, target in enumerate(names):
        x = np.asarray(counts[target], dtype=float)
        groups_k = _per_condition(labels[target])
        null = unit_mean_rates(x, int(n_units[target]))
        log_null = np.log(np.maximum(null, RATE_FLOOR))
        # per target trial: its null log-likelihood and its spikes
        null_ll = (x * log_null).reshape(len(x), -1).sum(1) - null.sum() * x.shape[1]
        spikes = x.reshape(len(x), -1).sum(1)
        flat_x = x.reshape(len(x), -1)
        if psth is not None:
            own = np.stack([np.asarray(psth[target][labels[target][t]], float)
                            for t in range(len(x))])  # fmt: skip
            per_trial = _log_likelihood(own, x) - null_ll
            ceiling[j], ceiling_ci[j] = _ratio_with_interval(
                per_trial, spikes, groups_k, rng, n_boot
            )
        for i, source in enumerate(names):
            if (source, target) not in rates:
                continue
            r = np.maximum(np.asarray(rates[(source, target)], dtype=float), RATE_FLOOR)
            if source == target:
                per_trial = _log_likelihood(r, x) - null_ll
                value[i, j], interval[i, j] = _ratio_with_interval(
                    per_trial, spikes, groups_k, rng, n_boot
                )
                continue
            groups_m = _per_condition(labels[source])
            shared = [c for c in groups_k if c in groups_m]
            if not shared:
                continue
            flat_log = np.log(r).reshape(len(r), -1)
            total_rate = r.reshape(len(r), -1).sum(1)
            # per condition: Gram matrix of the target's counts and the source's log rates
            blocks = {
                c: (flat_x[groups_k[c]] @ flat_log[groups_m[c]].T, total_rate[groups_m[c]],
                    null_ll[groups_k[c]], spikes[groups_k[c]])
                for c in shared
            }  # fmt: skip

            def pairs(rows=None, cols=None, blocks=blocks):
                gain = spk = 0.0
                for c, (gram, rate, nll, spk_c) in blocks.items():
                    a = np.arange(gram.shape[0]) if rows is None else rows[c]
                    b = np.arange(gram.shape[1]) if cols is None else cols[c]
                    # each target trial against the mean over the source's trials
                    gain += gram[np.ix_(a, b)].mean(1).sum() - len(a) * rate[b].mean()
                    gain -= nll[a].sum()
                    spk += spk_c[a].sum()
                return gain, spk

            gain, spk = pairs()
            value[i, j] = gain / (spk * math.log(2.0)) if spk > 0 else np.nan
            boots = []
            for _ in range(n_boot):
                rows = {c: rng.integers(len(groups_k[c]), size=len(groups_k[c])) for c in shared}
                cols = {c: rng.integers(len(groups_m[c]), size=len(groups_m[c])) for c in shared}
                g, s = pairs(rows, cols)
                if s > 0:
                    boots.append(g / (s * math.log(2.0)))
            if boots:
                interval[i, j] = np.quantile(boots, [0.025, 0.975])
    source_dim, target_dim = dims
    coords = {source_dim: names, target_dim: names, "bound": ["low", "high"]}
    ds = xr.Dataset(
        {
            "bits_per_spike": ((source_dim, target_dim), value),
            "bits_per_spike_ci": ((source_dim, target_dim, "bound"), interval),
        },
        coords=coords,
        attrs={
            "description": "Poisson log-likelihood of the target's held-out counts, "
            "predicted from the source's held-out trials of the same condition, over "
            "that of each unit's mean rate, in bits per spike (diagonal: each trial "
            "from its own latent)",
            "n_boot": int(n_boot),
        },
    )
    off = ~np.eye(n, dtype=bool)
    if off.any() and np.isfinite(value[off]).any():
        ds.attrs["mean_bits_per_spike"] = float(np.nanmean(value[off]))
    if psth is not None:
        ds["psth"] = (target_dim, ceiling)
        ds["psth_ci"] = ((target_dim, "bound"), ceiling_ci)
        ds["fraction"] = ((source_dim, target_dim), value / ceiling[None, :])
        if "mean_bits_per_spike" in ds.attrs:
            # over the mean ceiling of the same pairs: a mean of per-pair fractions would
            # be swamped by a target whose PSTH carries almost no bits
            pairs = np.isfinite(value) & off
            ds.attrs["mean_fraction"] = ds.attrs["mean_bits_per_spike"] / float(
                np.broadcast_to(ceiling[None, :], value.shape)[pairs].mean()
            )
    return ds


def _ratio_with_interval(per_trial, spikes, groups, rng, n_boot):
    """``gain / (spikes log 2)`` over every trial (``per_trial``: each trial's gain in
    nats), and its 95% interval over trials resampled within condition."""
    every = np.concatenate(list(groups.values()))
    total = spikes[every].sum()
    value = per_trial[every].sum() / (total * math.log(2.0)) if total > 0 else np.nan
    boots = []
    for _ in range(n_boot):
        idx = np.concatenate([g[rng.integers(len(g), size=len(g))] for g in groups.values()])
        if spikes[idx].sum() > 0:
            boots.append(per_trial[idx].sum() / (spikes[idx].sum() * math.log(2.0)))
    ci = np.quantile(boots, [0.025, 0.975]) if boots else np.array([np.nan, np.nan])
    return value, ci
