"""Coherence of conditional generation: one implementation for images and recordings.

Subject (or modality) k is generated from subject m alone and classified by a
classifier trained on k's real data; the coherence of (m, k) is the fraction of
generated samples given the label of the source sample (paper appendix B.2.2).
:meth:`neuromix.NeuralModel.coherence` and the image benchmark
(:func:`neuromix.evaluation.images.evaluate_multimodal`) both call :func:`coherence`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import xarray as xr

__all__ = ["coherence", "posterior_generator"]


def coherence(
    generate: Callable[[str, np.ndarray, Sequence[str]], Mapping[str, np.ndarray]],
    X: Mapping[str, np.ndarray],
    y,
    classifiers: Mapping[str, object],
    *,
    diagonal: bool = False,
    dims: tuple[str, str] = ("source", "target"),
) -> xr.DataArray:
    """Accuracy of conditionally generated samples, per (source, target) pair.

    For every source m, ``generate(m, X[m], targets)`` returns generated samples of
    every target; each target's classifier predicts their label, compared with the
    label of the source sample.

    Parameters
    ----------
    generate : callable
        ``generate(source, inputs, targets) -> {target: generated}`` (see
        :func:`posterior_generator`).
    X : mapping of str to array
        Source inputs per subject or modality. Sample counts may differ between
        sources when ``y`` is a mapping.
    y : array of shape (n,) or mapping of str to array
        Labels of the (paired) samples, or one label array per source.
    classifiers : mapping of str to classifier
        A fitted classifier (with ``predict``) for every target.
    diagonal : bool, default=False
        Also generate each source from itself (its reconstruction through the
        latent); False leaves the diagonal NaN, as the paper's image coherence.
    dims : tuple of two str, default=("source", "target")
        Names of the two dimensions of the result.

    Returns
    -------
    xarray.DataArray of dims ``dims``
        The off-diagonal mean is the paper's coherence.

    Examples
    --------
    A "generator" that returns the real paired images is perfectly coherent:

    >>> class Brightest:  # "classifies" an image by its brightest row
    ...     def predict(self, images):
    ...         return images.mean(axis=(1, 3)).argmax(axis=1)
    >>> y = np.arange(4)
    >>> X = {m: np.zeros((4, 1, 4, 4)) for m in ("a", "b")}
    >>> for images in X.values():
    ...     images[y, 0, y, :] = 1.0
    >>> acc = coherence(lambda s, xs, ts: {t: X[t] for t in ts}, X, y,
    ...                 {m: Brightest() for m in X})
    >>> acc.values.tolist()
    [[nan, 1.0], [1.0, nan]]
    """
    names = list(X)
    missing = [m for m in names if m not in classifiers]
    if missing:
        raise ValueError(f"no classifier for {', '.join(map(repr, missing))}")
    if len(dims) != 2 or dims[0] == dims[1]:
        raise ValueError(f"dims: expected two different names, got {dims!r}")
    labels = {m: np.asarray(y[m] if isinstance(y, Mapping) else y) for m in names}
    for m in names:
        if len(labels[m]) != len(X[m]):
            raise ValueError(
                f"{m!r}: {len(X[m])} samples but {len(labels[m])} labels; y gives one label "
                "per sample"
            )
    matrix = np.full((len(names), len(names)), np.nan)
    for i, source in enumerate(names):
        targets = [t for t in names if diagonal or t != source]
        generated = generate(source, X[source], targets)
        for target in targets:
            predicted = np.asarray(classifiers[target].predict(generated[target]))
            matrix[i, names.index(target)] = float(np.mean(predicted == labels[source]))
    return xr.DataArray(
        matrix,
        dims=dims,
        coords={dims[0]: names, dims[1]: names},
        name="coherence",
        attrs={"description": "accuracy of the target generated from the source alone"},
    )


def posterior_generator(vae, *, seed: int = 0, sample: bool = True):
    """Conditional generator of a fitted :class:`~neuromix.MultimodalVAE` for :func:`coherence`.

    ``generate(source, inputs, targets)`` is
    ``vae.generate({source: inputs}, targets, seed=seed, sample=sample)``: the source
    is encoded once with q_source(z | x_source), one latent is drawn per sample (its
    mean if ``sample`` is False) and decoded by every target's decoder, giving the
    likelihood means: the paper's procedure for every method (q_source itself, also
    for PoE with the N(0, I) expert).

    Parameters
    ----------
    vae : MultimodalVAE
        Fitted.
    seed : int
        Seed of the latent draws.
    sample : bool, default=True
        Draw z ~ q_source; False decodes the posterior mean.

    Returns
    -------
    callable
    """

    def generate(source, inputs, targets):
        return vae.generate({source: inputs}, list(targets), sample=sample, seed=seed)

    return generate
