"""Synthetic binned recordings of many subjects sharing one latent space (scaling tests).

Each subject's units read a shared, condition-dependent latent trajectory through their
own random tuning, so every subject sees the same latent space through different
neurons: the setting of :func:`neuromix.datasets.simulate_odor_sequence`, without the
rats' real trial structure, at any number of subjects.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["make_population"]


def make_population(
    n_subjects: int = 10,
    *,
    n_units: int = 200,
    n_trials: int = 400,
    n_conditions: int = 5,
    duration: float = 0.5,
    bin_size: float = 0.01,
    latent_dim: int = 2,
    rate: float = 20.0,
    seed: int = 0,
) -> dict[str, xr.DataArray]:
    """Binned spike counts of ``n_subjects`` subjects, one condition label per trial.

    A condition c has a latent trajectory ``z_c(t)`` (a random point on a circle that
    the response reaches with a rise of 100 ms); a trial's latent is its condition's
    trajectory plus Gaussian noise of sd 0.3. Unit j of subject s fires at
    ``rate * exp(w_sj . z(t) + b_sj)`` spikes per second (Poisson counts per bin), with
    tuning w_sj ~ N(0, I) and baseline b_sj ~ N(0, 0.5^2) drawn per subject.

    Parameters
    ----------
    n_subjects : int, default=10
    n_units : int, default=200
        Units per subject.
    n_trials : int, default=400
        Trials per subject; conditions are balanced and shuffled per subject.
    n_conditions : int, default=5
    duration : float, default=0.5
        Seconds per trial, from the onset.
    bin_size : float, default=0.01
    latent_dim : int, default=2
    rate : float, default=20.0
        Baseline firing rate (spikes/s).
    seed : int, default=0
        Subject s uses child stream s of the seed's :class:`numpy.random.SeedSequence`,
        so a subject's data do not depend on how many subjects are made.

    Returns
    -------
    dict of str to xarray.DataArray
        ``"S00"``, ``"S01"``, ...: counts ``(trial, unit, time)`` (uint8) with the
        ``time`` coord (bin starts, s), the trial label ``condition`` and attrs
        ``subject`` and ``bin_size``; what :func:`neuromix.fit` takes as binned input.

    Examples
    --------
    >>> data = make_population(3, n_units=4, n_trials=10, seed=0)
    >>> sorted(data), data["S01"].dims, data["S01"].shape
    (['S00', 'S01', 'S02'], ('trial', 'unit', 'time'), (10, 4, 50))
    """
    for name, value in (("n_subjects", n_subjects), ("n_units", n_units), ("n_trials", n_trials)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if n_trials < n_conditions:
        raise ValueError(f"n_trials ({n_trials}) must be >= n_conditions ({n_conditions})")
    n_bins = round(duration / bin_size)
    time = np.round(np.arange(n_bins) * bin_size, 12)
    shared = np.random.default_rng([seed, 10**6])
    angles = shared.uniform(0, 2 * np.pi, size=(n_conditions, latent_dim))
    targets = np.cos(angles + np.arange(latent_dim) * np.pi / 2)  # (condition, latent)
    rise = 1.0 - np.exp(-time / 0.1)  # (time,)
    streams = np.random.SeedSequence(seed).spawn(int(n_subjects))
    width = len(str(int(n_subjects) - 1))
    out = {}
    for s, stream in enumerate(streams):
        rng = np.random.default_rng(stream)
        labels = rng.permutation(np.arange(n_trials) % n_conditions)
        z = targets[labels][:, :, None] * rise  # (trial, latent, time)
        z = z + 0.3 * rng.normal(size=(n_trials, latent_dim, 1))
        w = rng.normal(size=(n_units, latent_dim))
        b = 0.5 * rng.normal(size=(n_units, 1))
        log_rate = np.einsum("ul,tlb->tub", w, z) + b  # (trial, unit, time)
        lam = rate * bin_size * np.exp(np.minimum(log_rate, 4.0))
        counts = np.minimum(rng.poisson(lam), 255).astype(np.uint8)
        name = f"S{s:0{max(width, 2)}d}"
        out[name] = xr.DataArray(
            counts,
            dims=("trial", "unit", "time"),
            coords={
                "trial": np.arange(n_trials),
                "unit": np.arange(n_units),
                "time": time,
                "condition": ("trial", np.array([f"c{c}" for c in labels])),
            },
            attrs={"subject": name, "bin_size": bin_size},
        )
    return out
