"""The peers of the alignment benchmark, on the same windows and splits as neuromix.

Every function takes ``data``, a mapping subject -> :class:`SubjectData` (the windows of
every trial, train and held-out, and which are held out), and returns the latents of
every row, fitted on the training rows only:

- :func:`pca_procrustes`: per-subject PCA, then generalised Procrustes of the subjects'
  condition-averaged trajectories;
- :func:`shared_response_model`: a deterministic shared response model (SRM);
- :func:`cebra_latents`: CEBRA multi-session, supervised by the label.

The raw-window decoder needs no function: its "latents" are the windows themselves.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.linalg import orthogonal_procrustes

__all__ = [
    "SubjectData",
    "cebra_latents",
    "condition_means",
    "generalised_procrustes",
    "pca_procrustes",
    "shared_response_model",
]


@dataclass
class SubjectData:
    """One subject's windows, row for row with its labels, trials and split.

    Attributes
    ----------
    X : numpy.ndarray (n, features)
        Flattened windows (rats) or samples (multiview).
    labels : numpy.ndarray (n,)
        The label to decode (the odor; the class).
    trials : numpy.ndarray (n,)
        The trial of every row (intervals resample trials).
    window : numpy.ndarray (n,) of int
        Window index within the trial (0 for data without windows).
    test : numpy.ndarray (n,) of bool
        Held-out rows.
    """

    X: np.ndarray
    labels: np.ndarray
    trials: np.ndarray
    window: np.ndarray
    test: np.ndarray


def condition_means(data: Mapping[str, SubjectData], values=None):
    """Training means per (label, window index) cell present in every subject.

    Parameters
    ----------
    data : mapping subject -> SubjectData
    values : mapping subject -> array (n, d), optional
        What to average (default each subject's ``X``).

    Returns
    -------
    cells : list of (label, window)
        In a fixed order (sorted), shared by every subject.
    means : dict subject -> numpy.ndarray (n_cells, d)

    Examples
    --------
    >>> import numpy as np
    >>> d = SubjectData(np.arange(8.0)[:, None], np.repeat(["a", "b"], 4), np.arange(8),
    ...                 np.zeros(8, int), np.array([0, 0, 0, 1, 0, 0, 0, 1], bool))
    >>> cells, means = condition_means({"s": d})
    >>> cells, means["s"].ravel().tolist()
    ([('a', 0), ('b', 0)], [1.0, 5.0])
    """
    values = {s: d.X for s, d in data.items()} if values is None else values
    present = [
        set(zip(d.labels[~d.test].tolist(), d.window[~d.test].tolist(), strict=True))
        for d in data.values()
    ]
    cells = sorted(set.intersection(*present), key=lambda c: (str(c[0]), c[1]))
    if not cells:
        raise ValueError("no (label, window) cell has training rows in every subject")
    means = {}
    for s, d in data.items():
        train = ~d.test
        v = np.asarray(values[s], dtype=np.float64)[train]
        keys = list(zip(d.labels[train].tolist(), d.window[train].tolist(), strict=True))
        index = {c: i for i, c in enumerate(cells)}
        rows = np.array([index.get(k, -1) for k in keys])
        keep = rows >= 0
        sums = np.zeros((len(cells), v.shape[1]))
        np.add.at(sums, rows[keep], v[keep])
        means[s] = sums / np.bincount(rows[keep], minlength=len(cells))[:, None]
    return cells, means


def generalised_procrustes(matrices: Mapping[str, np.ndarray], *, n_iter=100, tol=1e-10):
    """Rotations (orthogonal maps) of each matrix onto their common mean.

    Generalised Procrustes analysis without scaling: the reference starts as the first
    subject's matrix; every subject is rotated onto it (orthogonal Procrustes), the
    reference becomes the mean of the rotated matrices, until it stops changing.
    Matrices are (points, dims), centred by the caller.

    Returns
    -------
    rotations : dict subject -> (dims, dims)
    reference : numpy.ndarray (points, dims)
    n_iter : int
        Iterations done.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.random.default_rng(0).normal(size=(6, 2)); q = np.array([[0, -1], [1, 0.0]])
    >>> rot, ref, _ = generalised_procrustes({"a": a, "b": a @ q})
    >>> bool(np.allclose(a @ rot["a"], (a @ q) @ rot["b"]))
    True
    """
    names = list(matrices)
    reference = np.asarray(matrices[names[0]], dtype=np.float64)
    rotations, done = {}, 0
    while done < n_iter:
        done += 1
        rotations = {s: orthogonal_procrustes(matrices[s], reference)[0] for s in names}
        new = np.mean([matrices[s] @ rotations[s] for s in names], axis=0)
        change = np.linalg.norm(new - reference)
        reference = new
        if change <= tol * max(np.linalg.norm(new), 1e-300):
            break
    return rotations, reference, done


def pca_procrustes(data: Mapping[str, SubjectData], latent_dim: int):
    """Per-subject PCA to ``latent_dim``, then generalised Procrustes to the mean.

    Each subject's PCA is fitted on its training windows. Its training windows are
    averaged per (label, window index) cell -- the condition-averaged trajectories --
    these trajectories are centred (their mean over cells removed), and every subject's
    are rotated onto the mean of all subjects' (:func:`generalised_procrustes`). Every
    window is then mapped with its subject's PCA, the same centring and rotation.

    Returns
    -------
    latents : dict subject -> numpy.ndarray (n, latent_dim)
    info : dict
        ``cells`` (cells aligned) and ``iterations`` of the Procrustes loop.
    """
    from sklearn.decomposition import PCA

    scores = {}
    for s, d in data.items():
        k = min(latent_dim, *d.X[~d.test].shape)
        pca = PCA(n_components=k, svd_solver="full").fit(d.X[~d.test])
        scores[s] = pca.transform(d.X)
        if k < latent_dim:  # fewer features (or windows) than latent dims: pad with zeros
            scores[s] = np.pad(scores[s], ((0, 0), (0, latent_dim - k)))
    cells, means = condition_means(data, scores)
    centres = {s: m.mean(axis=0) for s, m in means.items()}
    rotations, _, n_iter = generalised_procrustes({s: means[s] - centres[s] for s in data})
    latents = {s: (scores[s] - centres[s]) @ rotations[s] for s in data}
    return latents, {"cells": len(cells), "iterations": n_iter}


def _polar(a: np.ndarray) -> np.ndarray:
    """The orthonormal factor U V^T of the SVD of ``a`` (features, k)."""
    u, _, vt = np.linalg.svd(a, full_matrices=False)
    return u @ vt


def shared_response_model(
    data: Mapping[str, SubjectData], latent_dim: int, *, n_iter: int = 100, tol: float = 1e-9
):
    """A deterministic shared response model (Chen et al. 2015) in numpy.

    Each subject's training responses averaged per (label, window index) cell form
    X_i (features_i x cells), centred by their mean over cells. The model X_i ~ W_i S
    has orthonormal W_i (features_i x k) and a shared response S (k x cells); it is
    fitted by alternating W_i = U V^T from the SVD of X_i S^T and S = mean_i W_i^T X_i
    until the loss sum_i ||X_i - W_i S||^2 stops falling (relative change below
    ``tol``, at most ``n_iter`` rounds). S starts as the top-k right singular vectors
    of all X_i stacked, so the fit involves no random numbers. Every window x of
    subject i is mapped to W_i^T (x - centre_i).

    Returns
    -------
    latents : dict subject -> numpy.ndarray (n, latent_dim)
    info : dict
        ``cells``, ``iterations`` and the final relative ``loss`` (loss / sum ||X_i||^2).
    """
    cells, means = condition_means(data)
    k = latent_dim
    small = {s: m.shape[1] for s, m in means.items() if m.shape[1] < k}
    if small or len(cells) < k:
        raise ValueError(
            f"SRM needs at least latent_dim={k} features and cells; features {small}, "
            f"cells {len(cells)}"
        )
    centres = {s: m.mean(axis=0) for s, m in means.items()}
    X = {s: (means[s] - centres[s]).T for s in data}  # (features, cells)
    _, sv, vt = np.linalg.svd(np.vstack(list(X.values())), full_matrices=False)
    S = sv[:k, None] * vt[:k]
    total = sum(float((x**2).sum()) for x in X.values())
    previous, loss, done = np.inf, np.nan, 0
    while done < n_iter:
        done += 1
        W = {s: _polar(X[s] @ S.T) for s in X}
        S = np.mean([W[s].T @ X[s] for s in X], axis=0)
        loss = sum(float(((X[s] - W[s] @ S) ** 2).sum()) for s in X)
        if np.isfinite(previous) and previous - loss <= tol * previous:
            break
        previous = loss
    latents = {s: (data[s].X - centres[s]) @ W[s] for s in data}
    return latents, {"cells": len(cells), "iterations": done, "loss": loss / max(total, 1e-300)}


@contextlib.contextmanager
def _seeded(seed: int):
    """Seed numpy's and torch's global generators (CEBRA draws from both), then restore
    them."""
    import torch

    state = np.random.get_state()  # noqa: NPY002 - CEBRA draws from the global generator
    torch_state = torch.random.get_rng_state()
    np.random.seed(seed)  # noqa: NPY002
    torch.manual_seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002
        torch.random.set_rng_state(torch_state)


def cebra_latents(data: Mapping[str, SubjectData], latent_dim: int, *, seed: int, **options):
    """CEBRA multi-session, supervised by the (discrete) label, one session per subject.

    Fitted on the training rows of every subject (``cebra.CEBRA.fit`` on the list of
    sessions, labels coded as integers), then every row is embedded with its own
    session (``transform(X, session_id=i)``). ``options`` are CEBRA's keyword arguments
    (``model_architecture``, ``batch_size``, ``learning_rate``, ``max_iterations``...);
    ``output_dimension`` is ``latent_dim`` and the device the CPU.

    Returns
    -------
    latents : dict subject -> numpy.ndarray (n, latent_dim)
    info : dict
        ``fit_seconds`` (CEBRA's fit alone) and the ``options`` used.
    """
    import cebra

    classes = sorted(set().union(*(set(d.labels.tolist()) for d in data.values())), key=str)
    code = {c: i for i, c in enumerate(classes)}
    X = [np.ascontiguousarray(d.X[~d.test], dtype=np.float32) for d in data.values()]
    y = [np.array([code[v] for v in d.labels[~d.test].tolist()]) for d in data.values()]
    options = {**options, "output_dimension": int(latent_dim), "device": "cpu", "verbose": False}
    model = cebra.CEBRA(**options)
    with _seeded(seed):
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    latents = {
        s: model.transform(np.ascontiguousarray(d.X, dtype=np.float32), session_id=i)
        for i, (s, d) in enumerate(data.items())
    }
    return latents, {"fit_seconds": seconds, "options": options, "cebra": cebra.__version__}
