"""Are subjects' latents aligned? Distances between condition-averaged latents."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

__all__ = ["centroid_distances"]


def centroid_distances(
    latents: Mapping[str, tuple[np.ndarray, np.ndarray]], *, subject_dim: str = "subject"
) -> xr.Dataset:
    """Distances between subjects' condition-averaged latents, relative to their spread.

    For each subject s and condition c, the centroid mu_{s,c} is the mean latent of the
    windows with that condition, and the spread sigma_s the root mean squared distance
    of the windows to their condition's centroid. For two subjects a, b,

        distance[a, b] = mean_c ||mu_{a,c} - mu_{b,c}|| / sqrt((sigma_a^2 + sigma_b^2) / 2),

    and, as the scale to compare it with, each subject's separation of conditions

        separation[s] = mean_{c != c'} ||mu_{s,c} - mu_{s,c'}|| / sigma_s.

    Aligned latent spaces have distance well below separation.

    Parameters
    ----------
    latents : mapping subject -> (latents (n, d), conditions (n,)[, trials (n,)])
        Only the conditions present in every subject are used; a third element
        (the trial of every row, as :func:`~neuromix.evaluation.decode_labels` takes)
        is ignored.

    Returns
    -------
    xarray.Dataset with ``distance`` (<dim>_a, <dim>_b), ``separation`` (<dim>),
    ``spread`` (<dim>) and ``centroid`` (<dim>, condition, latent).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 100); z = np.c_[y * 4.0, 0 * y] + rng.normal(size=(200, 2))
    >>> ds = centroid_distances({"a": (z, y), "b": (z + 0.1, y)})
    >>> bool(ds.distance.sel(subject_a="a", subject_b="b") < 0.2 * ds.separation.sel(subject="a"))
    True
    """
    subjects = list(latents)
    latents = {s: tuple(part[:2]) for s, part in latents.items()}
    conditions = sorted(set.intersection(*(set(np.unique(y)) for _, y in latents.values())))
    d = next(iter(latents.values()))[0].shape[1]
    centroids = np.zeros((len(subjects), len(conditions), d))
    spread = np.zeros(len(subjects))
    for i, s in enumerate(subjects):
        z, y = np.asarray(latents[s][0]), np.asarray(latents[s][1])
        sq, n = 0.0, 0
        for j, c in enumerate(conditions):
            zc = z[y == c]
            centroids[i, j] = zc.mean(axis=0)
            sq += ((zc - centroids[i, j]) ** 2).sum()
            n += len(zc)
        spread[i] = np.sqrt(sq / max(n, 1))
    diff = np.linalg.norm(centroids[:, None] - centroids[None, :], axis=-1)  # (s, s, c)
    pooled = np.sqrt((spread[:, None] ** 2 + spread[None, :] ** 2) / 2)
    distance = diff.mean(axis=-1) / pooled
    within = np.linalg.norm(centroids[:, :, None] - centroids[:, None, :], axis=-1)  # (s, c, c)
    k = len(conditions)
    separation = within.sum(axis=(1, 2)) / max(k * (k - 1), 1) / spread
    names = np.array(subjects, dtype=object)
    return xr.Dataset(
        {
            "distance": ((f"{subject_dim}_a", f"{subject_dim}_b"), distance),
            "separation": (subject_dim, separation),
            "spread": (subject_dim, spread),
            "centroid": ((subject_dim, "condition", "latent"), centroids),
        },
        coords={
            subject_dim: names,
            f"{subject_dim}_a": names,
            f"{subject_dim}_b": names,
            "condition": np.array(conditions, dtype=object),
        },
    )
