"""Where each subject departs from the shared space: its posterior against the others'.

For subject m, condition c and window w, the divergence KL(q_m || p_{-m}) of each of m's
held-out trials of c, where p_{-m} is the equal-weight mixture of the posteriors of every
*other* subject's held-out trials of c at window w; averaged over m's trials. Near 0,
subject m's windows land where the other subjects' land; large, m departs from them
there. For MMVM this is the subject's term of the rate with the mixture of the others
in place of the mixture of all subjects (MMVM's prior for subject m, Eq. 2 of the paper,
also holds m itself; here m is left out so that a subject cannot agree with itself).
The KL is a Monte-Carlo estimate (:func:`neuromix.models.gaussian.kl_to_mixture_mc`).

Shape convention: per subject, ``mu`` and ``logvar`` are ``(trial, window, latent)``
and ``labels`` is ``(trial,)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import xarray as xr

from neuromix.models.gaussian import kl_to_mixture_mc

__all__ = ["individuality"]


def individuality(
    mu: Mapping[str, np.ndarray],
    logvar: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    *,
    n_draws: int = 64,
    seed: int = 0,
    subject_dim: str = "subject",
    condition_dim: str = "condition",
) -> xr.DataArray:
    """Divergence of each subject's posteriors from the mixture of the other subjects'.

    Parameters
    ----------
    mu, logvar : mapping subject -> array (trial, window, latent)
        Posterior means and log-variances of each subject's held-out windows.
    labels : mapping subject -> array (trial,)
        Condition of each trial.
    n_draws : int, default=64
        Draws per window of the Monte-Carlo KL.
    seed : int, default=0
    subject_dim, condition_dim : str
        Names of the result's dimensions.

    Returns
    -------
    xarray.DataArray
        ``(subject_dim, condition_dim, "window")``, in nats; NaN where the subject, or
        every other subject, has no trial of the condition.

    Examples
    --------
    Two subjects whose posteriors coincide, and a third one unit away:

    >>> labels = {s: np.array(["a", "a"]) for s in "xyz"}
    >>> mu = {"x": np.zeros((2, 1, 1)), "y": np.zeros((2, 1, 1)), "z": np.ones((2, 1, 1))}
    >>> logvar = {s: np.full((2, 1, 1), -4.0) for s in "xyz"}
    >>> d = individuality(mu, logvar, labels, n_draws=2000)
    >>> bool(d.sel(subject="z").item() > d.sel(subject="x").item())
    True
    """
    names = list(mu)
    if len(names) < 2:
        raise ValueError("individuality needs at least two subjects")
    conditions = list(dict.fromkeys(c for s in names for c in np.asarray(labels[s]).tolist()))
    try:
        conditions = sorted(conditions)
    except TypeError:  # labels of mixed types keep their order of appearance
        pass
    n_windows = next(iter(mu.values())).shape[1]
    out = np.full((len(names), len(conditions), n_windows), np.nan)
    generator = torch.Generator().manual_seed(int(seed))

    def rows(s, c):
        idx = np.flatnonzero(np.asarray(labels[s]) == c)
        as_tensor = [torch.as_tensor(np.asarray(a)[idx], dtype=torch.float64)
                     for a in (mu[s], logvar[s])]  # fmt: skip
        return as_tensor  # (trial, window, latent) each

    for j, c in enumerate(conditions):
        parts = {s: rows(s, c) for s in names}
        for i, s in enumerate(names):
            own_mu, own_lv = parts[s]
            others = [parts[k] for k in names if k != s and len(parts[k][0])]
            if not len(own_mu) or not others:
                continue
            mix_mu = torch.cat([o[0] for o in others])  # (component, window, latent)
            mix_lv = torch.cat([o[1] for o in others])
            for w in range(n_windows):
                kl = kl_to_mixture_mc(
                    own_mu[:, w], own_lv[:, w], mix_mu[:, w], mix_lv[:, w],
                    n_draws=n_draws, generator=generator,
                )  # fmt: skip
                out[i, j, w] = float(kl.mean())
    return xr.DataArray(
        out,
        dims=(subject_dim, condition_dim, "window"),
        coords={subject_dim: names, condition_dim: conditions, "window": np.arange(n_windows)},
        name="individuality",
        attrs={
            "units": "nats",
            "description": "KL of each subject's held-out posteriors from the mixture of "
            "the other subjects' posteriors of the same condition and window, averaged "
            "over the subject's trials",
        },
    )
