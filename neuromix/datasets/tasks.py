"""Simulated multi-subject tasks made by other means than the simulated rats.

:func:`simulate_task` draws several subjects that did one task of a few conditions, with
every difference the package must survive on a lab's recordings: unequal trial counts
per subject and condition, 20 to 1,000 units, mean rates from under 1 Hz to tens of Hz,
Poisson or overdispersed spiking, per-subject latencies and response durations, shared
latent structure of several kinds and sizes, subject-private variability, and a subject
whose shared signal is weak. It is the generator of the datasets suite
(``neuromix benchmark suite``), written apart from
:func:`~neuromix.datasets.simulate_odor_sequence`, so that defaults chosen on both are
not chosen on one simulator.

How a subject's spikes are made
-------------------------------
1. The **shared latent** of condition c is a path z_c(s) in ``latent_dim`` dimensions
   over the response's own time s in [0, 1], zero at s = 0 and s = 1:

   - ``"trajectory"``: smooth random paths (a few random sine components per dimension
     and condition, under a sin(pi s) envelope);
   - ``"fixed_points"``: each condition rises to its own point and decays back (the
     envelope times a random point per condition, the points well apart);
   - ``"rotation"``: each condition's path is one rotating vector in every plane of the
     latent, the conditions starting at different phases.

   Subject m responds from its latency L_m for its duration D_m: at time t after trial
   onset its latent is z_c((t - L_m) / D_m) inside the response and 0 outside, so the
   subjects see one path warped in time.
2. A **private latent** u(t) of ``private_dim`` dimensions per subject and trial
   (a smooth random path over the whole trial, different on every trial) adds variability
   that no other subject shares.
3. Unit n of subject m has log-gain ``g_m C_n . z + P_n . u`` around its baseline
   rate; the rate is ``nonlinearity``'s map of that (``"exp"``: baseline x exp,
   ``"softplus"``: baseline x softplus(x + log(e - 1)), ``"sigmoid"``: a rate saturating
   at 4x baseline). g_m is ``signal`` for every subject but the ``weak`` ones.
4. **Spikes** are drawn at 1 ms: a Poisson count per millisecond bin (rates times a
   per-trial Gamma gain of mean 1 and variance ``dispersion`` per unit when
   ``dispersion > 0``: negative-binomial, overdispersed counts), each spike placed at a
   uniform time inside its bin.

Every random choice comes from ``seed``, in a fixed order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from neuromix.data.ingest import from_arrays

__all__ = ["LATENT_KINDS", "NONLINEARITIES", "simulate_task"]

#: Kinds of shared latent structure.
LATENT_KINDS = ("trajectory", "fixed_points", "rotation")
#: Maps from log-gain to rate.
NONLINEARITIES = ("exp", "softplus", "sigmoid")

_MS = 0.001  # the spike clock of the simulation: 1 ms bins


def _per_subject(value, n: int, rng: np.random.Generator, name: str, integer: bool = False):
    """A number (the same for all n), a tuple ``(low, high)`` (drawn uniformly for each)
    or a list of n values."""
    if isinstance(value, tuple):
        if len(value) != 2 or value[1] < value[0]:
            raise ValueError(f"{name}: a tuple is a (low, high) range, got {value!r}")
        low, high = value
        if integer:
            out = rng.integers(int(low), int(high) + 1, size=n)
        else:
            out = rng.uniform(float(low), float(high), size=n)
    elif np.ndim(value) == 0:
        out = np.full(n, value)
    else:
        out = np.asarray(value)
        if out.shape != (n,):
            raise ValueError(f"{name}: expected a number, a (low, high) tuple or {n} values")
    return out.astype(int) if integer else out.astype(float)


def _envelope(s: np.ndarray) -> np.ndarray:
    return np.where((s >= 0) & (s <= 1), np.sin(np.pi * np.clip(s, 0, 1)), 0.0)


def _shared_paths(kind, n_conditions, latent_dim, rng):
    """A function s -> z of shape (condition, len(s), latent_dim), unit-scale."""
    if kind == "trajectory":
        n_comp = 3
        amp = rng.normal(size=(n_conditions, latent_dim, n_comp))
        freq = rng.uniform(0.5, 2.5, size=(n_conditions, latent_dim, n_comp))
        phase = rng.uniform(0, 2 * np.pi, size=(n_conditions, latent_dim, n_comp))

        def paths(s):
            arg = 2 * np.pi * freq[..., None] * s + phase[..., None]  # (c, d, k, t)
            z = (amp[..., None] * np.sin(arg)).sum(axis=2) / np.sqrt(n_comp)
            z = z - z.mean(axis=0, keepdims=True)  # the conditions differ, not their mean
            return np.transpose(z * _envelope(s), (0, 2, 1)) * 1.5

        return paths
    if kind == "fixed_points":
        points = rng.normal(size=(n_conditions, latent_dim))
        points -= points.mean(axis=0)
        points /= np.linalg.norm(points, axis=1, keepdims=True).mean() + 1e-12
        points *= 1.5

        def paths(s):
            shape = np.clip(_envelope(s) * 1.6, 0, 1)  # a plateau at the point
            return points[:, None, :] * shape[None, :, None]

        return paths
    if kind == "rotation":
        n_planes = max(1, latent_dim // 2)
        speed = rng.uniform(0.75, 2.0, size=n_planes)  # turns over the response
        phase0 = np.arange(n_conditions) * 2 * np.pi / n_conditions
        offset = rng.uniform(0, 2 * np.pi, size=n_planes)

        def paths(s):
            z = np.zeros((n_conditions, len(s), latent_dim))
            for p in range(n_planes):
                angle = 2 * np.pi * speed[p] * s[None, :] + phase0[:, None] + offset[p]
                z[:, :, 2 * p] = np.cos(angle)
                if 2 * p + 1 < latent_dim:
                    z[:, :, 2 * p + 1] = np.sin(angle)
            return 1.5 * z * _envelope(s)[None, :, None]

        return paths
    raise ValueError(f"latent: expected one of {LATENT_KINDS}, got {kind!r}")


def _private_paths(n_trials, n_time, private_dim, rng):
    """Smooth random paths (trial, time, private_dim) of unit scale: a few random sines."""
    if private_dim == 0:
        return np.zeros((n_trials, n_time, 0))
    t = np.linspace(0, 1, n_time)
    n_comp = 3
    amp = rng.normal(size=(n_trials, private_dim, n_comp))
    freq = rng.uniform(0.2, 2.0, size=(n_trials, private_dim, n_comp))
    phase = rng.uniform(0, 2 * np.pi, size=(n_trials, private_dim, n_comp))
    u = (amp[..., None] * np.sin(2 * np.pi * freq[..., None] * t + phase[..., None])).sum(2)
    return np.transpose(u / np.sqrt(n_comp), (0, 2, 1))


def _rate(drive, baseline, nonlinearity):
    if nonlinearity == "exp":
        return baseline * np.exp(drive)
    if nonlinearity == "softplus":
        return baseline * np.logaddexp(0.0, drive + np.log(np.e - 1.0))
    if nonlinearity == "sigmoid":
        return baseline * 4.0 / (1.0 + 3.0 * np.exp(-drive))
    raise ValueError(f"nonlinearity: expected one of {NONLINEARITIES}, got {nonlinearity!r}")


def simulate_task(
    *,
    n_subjects: int = 4,
    n_units: int | Sequence = (38, 90),
    n_conditions: int = 4,
    trials: int | Sequence = (30, 50),
    latent: str = "trajectory",
    latent_dim: int = 3,
    rate: float | Sequence = 5.0,
    dispersion: float = 0.0,
    nonlinearity: str = "exp",
    signal: float = 2.0,
    weak: int = 0,
    weak_signal: float = 0.25,
    private_dim: int = 2,
    private_scale: float = 0.5,
    latency: float | Sequence = (0.05, 0.3),
    duration: float | Sequence = (0.25, 0.45),
    trial_length: float = 1.0,
    label: str = "stimulus",
    seed: int = 0,
):
    """Several subjects of one task of ``n_conditions`` conditions, as spike trains.

    Parameters
    ----------
    n_subjects : int, default=4
    n_units : int, tuple (low, high) or list of int, default=(38, 90)
        Units per subject: one number, a range drawn from for each subject, or a list
        of one number per subject.
    n_conditions : int, default=4
    trials : int, tuple (low, high) or list, default=(30, 50)
        Trials per condition: drawn from the range for every subject and condition, so
        counts are unequal across subjects and conditions.
    latent : {"trajectory", "fixed_points", "rotation"}, default="trajectory"
        Kind of the shared latent structure (see the module).
    latent_dim : int, default=3
        Dimension of the shared latent.
    rate : float, tuple (low, high) or list, default=5.0
        Mean baseline rate of a subject's units, Hz (units spread log-normally around it,
        sd 0.5 in log).
    dispersion : float, default=0.0
        Variance of the per-trial, per-unit Gamma gain (0: Poisson spiking).
    nonlinearity : {"exp", "softplus", "sigmoid"}, default="exp"
    signal : float, default=2.0
        Gain of the shared latent on the log-rates (loadings have unit variance).
    weak : int, default=0
        How many subjects (the last ones) have a weak shared signal, ``weak_signal``.
    weak_signal : float, default=0.25
    private_dim : int, default=2
        Dimension of each subject's private, trial-varying latent.
    private_scale : float, default=0.5
        Gain of the private latent on the log-rates.
    latency, duration : float, tuple (low, high) or list, default=(0.05, 0.3), (0.25, 0.45)
        Per subject, when its response starts after trial onset and how long it lasts (s).
    trial_length : float, default=1.0
        Seconds from trial onset to trial end; trials follow each other 0.5 s apart.
    label : str, default="stimulus"
        Name of the condition column of the trial tables.
    seed : int, default=0

    Returns
    -------
    recordings : dict of str to Recording
        Subjects ``"S01"``, ``"S02"``...; each trial table has ``start_time``,
        ``stop_time`` and ``label`` (conditions ``"c1"``, ``"c2"``...); metadata
        ``latency``, ``duration`` and ``signal`` of the subject.
    truth : dict
        ``latency``, ``duration``, ``signal``, ``n_units`` (per subject), ``paths``
        (the shared latent of each condition on a grid of 101 points of s).

    Examples
    --------
    >>> rec, truth = simulate_task(n_subjects=2, n_units=5, n_conditions=2, trials=3, seed=0)
    >>> sorted(rec), rec["S01"].trials["stimulus"].value_counts().to_dict()
    (['S01', 'S02'], {'c1': 3, 'c2': 3})
    >>> truth["paths"].shape
    (2, 101, 3)
    """
    if n_subjects < 1 or n_conditions < 1 or latent_dim < 1:
        raise ValueError("n_subjects, n_conditions and latent_dim must be >= 1")
    if latent not in LATENT_KINDS:
        raise ValueError(f"latent: expected one of {LATENT_KINDS}, got {latent!r}")
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity: expected one of {NONLINEARITIES}, got {nonlinearity!r}")
    if not 0 <= weak <= n_subjects:
        raise ValueError(f"weak: expected 0..{n_subjects}, got {weak}")
    if dispersion < 0:
        raise ValueError(f"dispersion must be >= 0, got {dispersion}")
    rng = np.random.default_rng([int(seed), 20])
    units = _per_subject(n_units, n_subjects, rng, "n_units", integer=True)
    rates = _per_subject(rate, n_subjects, rng, "rate")
    latencies = _per_subject(latency, n_subjects, rng, "latency")
    durations = _per_subject(duration, n_subjects, rng, "duration")
    if np.any(latencies + durations > trial_length):
        raise ValueError("latency + duration must lie within trial_length for every subject")
    gains = np.full(n_subjects, float(signal))
    if weak:
        gains[n_subjects - weak :] = weak_signal
    paths = _shared_paths(latent, n_conditions, latent_dim, rng)
    conditions = [f"c{c + 1}" for c in range(n_conditions)]
    n_time = round(trial_length / _MS)
    t = (np.arange(n_time) + 0.5) * _MS
    recordings = {}
    for m in range(n_subjects):
        name = f"S{m + 1:02d}"
        counts = np.atleast_1d(
            _per_subject(trials, n_conditions, rng, "trials", integer=True)
        ).astype(int)
        cond_of_trial = rng.permutation(np.repeat(np.arange(n_conditions), counts))
        n_trials = len(cond_of_trial)
        n = int(units[m])
        baseline = rates[m] * np.exp(0.5 * rng.standard_normal(n) - 0.125)
        loading = rng.standard_normal((latent_dim, n)) / np.sqrt(latent_dim)
        private_loading = rng.standard_normal((private_dim, n)) / np.sqrt(max(private_dim, 1))
        z = paths((t - latencies[m]) / durations[m])  # (condition, time, latent_dim)
        shared_drive = gains[m] * z @ loading  # (condition, time, unit)
        private = _private_paths(n_trials, n_time, private_dim, rng)
        onsets = np.arange(n_trials) * (trial_length + 0.5) + 0.5
        spikes: list[list[np.ndarray]] = [[] for _ in range(n)]
        for k in range(n_trials):
            drive = shared_drive[cond_of_trial[k]] + private_scale * private[k] @ private_loading
            lam = _rate(drive, baseline, nonlinearity) * _MS  # expected spikes per ms bin
            if dispersion > 0:
                lam = lam * rng.gamma(1.0 / dispersion, dispersion, size=n)
            count = rng.poisson(lam)  # (time, unit)
            b, u = np.nonzero(count)
            reps = count[b, u]
            b, u = np.repeat(b, reps), np.repeat(u, reps)
            times = onsets[k] + (b + rng.uniform(size=len(b))) * _MS
            order = np.argsort(u, kind="stable")
            edges = np.searchsorted(u[order], np.arange(n + 1))
            for j in range(n):
                spikes[j].append(times[order[edges[j] : edges[j + 1]]])
        spike_times = [np.sort(np.concatenate(s)) for s in spikes]
        table = pd.DataFrame(
            {
                "start_time": onsets,
                "stop_time": onsets + trial_length,
                label: np.array(conditions, dtype=object)[cond_of_trial],
            }
        )
        recordings[name] = from_arrays(
            spike_times,
            table,
            subject=name,
            metadata={
                "latency": float(latencies[m]),
                "duration": float(durations[m]),
                "signal": float(gains[m]),
            },
        )
    grid = np.linspace(0, 1, 101)
    truth = {
        "latency": dict(zip(recordings, latencies.tolist(), strict=True)),
        "duration": dict(zip(recordings, durations.tolist(), strict=True)),
        "signal": dict(zip(recordings, gains.tolist(), strict=True)),
        "n_units": dict(zip(recordings, units.tolist(), strict=True)),
        "paths": paths(grid),
    }
    return recordings, truth
