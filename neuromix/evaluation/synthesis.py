"""Synthetic trials: a density of the shared latent's trajectories, per condition.

A trial is a trajectory of latents, one per window. The density of a condition is a
Gaussian over the whole trajectory (``window * latent`` dimensions: so a draw keeps the
latent's course over the trial, and the correlation of its windows), fitted to draws of
the aggregate posterior -- one draw z ~ q(z | x) per window of every training trial of
the condition, of every subject -- with a Ledoit-Wolf shrunk covariance (well
conditioned when trials are fewer than dimensions). One draw of it is one shared trial,
which every subject's decoder turns into that subject's windows.

Shape convention: ``latents`` are ``(trial, window, latent)``; ``labels`` ``(trial,)``.
"""

from __future__ import annotations

import numpy as np
from sklearn.covariance import LedoitWolf

__all__ = ["TrajectoryDensity"]


class TrajectoryDensity:
    """Per condition, a Gaussian over latent trajectories (see the module).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = np.concatenate([rng.normal(0, 1, (50, 3, 2)), rng.normal(5, 1, (50, 3, 2))])
    >>> density = TrajectoryDensity().fit(z, np.repeat(["a", "b"], 50))
    >>> draws = density.sample("b", 200, seed=0)
    >>> draws.shape, bool(abs(draws.mean() - 5) < 0.3)
    ((200, 3, 2), True)
    """

    def fit(self, latents, labels) -> TrajectoryDensity:
        latents = np.asarray(latents, dtype=float)
        labels = np.asarray(labels)
        if latents.ndim != 3 or len(latents) != len(labels):
            raise ValueError(
                "latents must be (trial, window, latent) with one label per trial; got "
                f"{latents.shape} and {len(labels)} labels"
            )
        self.shape_ = latents.shape[1:]
        self.means_, self.covariances_ = {}, {}
        for c in dict.fromkeys(labels.tolist()):
            flat = latents[labels == c].reshape(int((labels == c).sum()), -1)
            if len(flat) < 2:
                raise ValueError(f"condition {c!r}: a density needs at least two trials")
            self.means_[c] = flat.mean(axis=0)
            self.covariances_[c] = LedoitWolf().fit(flat).covariance_
        return self

    @property
    def conditions_(self) -> list:
        return list(self.means_)

    def sample(self, condition, n: int, *, seed=None) -> np.ndarray:
        """``n`` trajectories ``(n, window, latent)`` of ``condition``."""
        if condition not in self.means_:
            raise ValueError(
                f"condition {condition!r} is not one of the fitted conditions {self.conditions_}"
            )
        rng = np.random.default_rng(seed)
        draws = rng.multivariate_normal(self.means_[condition], self.covariances_[condition],
                                        size=int(n), method="eigh")  # fmt: skip
        return draws.reshape(int(n), *self.shape_)
