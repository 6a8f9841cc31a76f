"""Small synthetic multi-view data with a known shared factor (tests, demos)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["example_latents", "make_multiview"]


def make_multiview(
    n_samples: int = 1000,
    *,
    n_features: Mapping[str, int] | None = None,
    latent_dim: int = 2,
    n_classes: int = 4,
    noise: float = 0.1,
    private_dim: int = 1,
    seed: int = 0,
):
    """Paired views of a shared low-dimensional factor, with private factors and noise.

    The shared factor z (n_samples, latent_dim) is drawn from a mixture of
    ``n_classes`` well-separated Gaussians (so it carries a class label); each view
    s gets its own private factor u_s and noise and a random nonlinear map:
    x_s = tanh([z, u_s] A_s) B_s + noise * eps, with A_s, B_s random per view.

    Parameters
    ----------
    n_samples : int, default=1000
    n_features : mapping of str to int, optional
        Views and their feature counts; default ``{"a": 20, "b": 30, "c": 15}``.
    latent_dim : int, default=2
    n_classes : int, default=4
    noise : float, default=0.1
    private_dim : int, default=1
    seed : int, default=0

    Returns
    -------
    X : dict of str to numpy.ndarray (n_samples, n_features[s]), float32
    truth : dict
        ``"z"`` the shared factor, ``"labels"`` the class of each sample,
        ``"private"`` the per-view private factors.

    Examples
    --------
    >>> X, truth = make_multiview(n_samples=5, seed=0)
    >>> {k: v.shape for k, v in X.items()}, truth["z"].shape
    ({'a': (5, 20), 'b': (5, 30), 'c': (5, 15)}, (5, 2))
    """
    n_features = dict(n_features or {"a": 20, "b": 30, "c": 15})
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, latent_dim))
    centres *= 2.5 / np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(n_classes, size=n_samples)
    z = centres[labels] + 0.4 * rng.normal(size=(n_samples, latent_dim))
    X, private = {}, {}
    for name, d in n_features.items():
        u = rng.normal(size=(n_samples, private_dim))
        hidden = max(8, d)
        a = rng.normal(size=(latent_dim + private_dim, hidden)) / np.sqrt(latent_dim + private_dim)
        b = rng.normal(size=(hidden, d)) / np.sqrt(hidden)
        x = np.tanh(np.concatenate([z, u], axis=1) @ a) @ b
        X[name] = (x + noise * rng.normal(size=x.shape)).astype(np.float32)
        private[name] = u
    return X, {"z": z, "labels": labels, "private": private}


def example_latents(
    subjects: Sequence[str] = ("Barat", "Mitt"),
    *,
    n_trials: int = 4,
    n_windows: int = 3,
    conditions: Sequence[str] = ("A", "B"),
    latent_dim: int = 2,
    subject_dim: str = "rat",
    label: str = "odor",
    seed: int | None = 0,
) -> xr.DataArray:
    """A small latents array shaped as :meth:`neuromix.NeuralModel.latents` gives it (for
    examples and tests of the functions that take one).

    Dims ``("sample", "latent")``; ``sample`` is the MultiIndex (``subject_dim``,
    ``trial``, ``window``) of ``n_trials`` trials of ``n_windows`` windows per subject;
    the trials cycle through ``conditions`` (coord ``label``). Values are standard
    normal draws from ``seed``, or ``0, 1, 2, ...`` in sample order when ``seed`` is
    None.

    Examples
    --------
    >>> latents = example_latents()
    >>> latents.dims, latents.shape, sorted(set(latents.odor.values))
    (('sample', 'latent'), (24, 2), ['A', 'B'])
    >>> example_latents(seed=None).values[:2].tolist()
    [[0.0, 1.0], [2.0, 3.0]]
    """
    index = pd.MultiIndex.from_product(
        [list(subjects), range(n_trials), range(n_windows)], names=[subject_dim, "trial", "window"]
    )
    shape = (len(index), int(latent_dim))
    values = (
        np.arange(float(np.prod(shape))).reshape(shape)
        if seed is None
        else np.random.default_rng(seed).normal(size=shape)
    )
    per_trial = [conditions[t % len(conditions)] for t in range(n_trials)]
    labels = np.repeat(np.array(per_trial * len(subjects), dtype=object), n_windows)
    return xr.DataArray(
        values, dims=("sample", "latent"),
        coords=xr.Coordinates.from_pandas_multiindex(index, "sample"),
    ).assign_coords({label: ("sample", labels)})  # fmt: skip
