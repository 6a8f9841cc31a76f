"""Decoding a label (e.g. the odor) from latents, within and across subjects."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = [
    "chance_level",
    "decode_labels",
    "default_classifier",
    "linear_probe",
    "window_classifier",
]


def default_classifier(seed: int = 0):
    """Standardised multinomial logistic regression (the paper's linear read-out)."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))


def window_classifier():
    """Classifier of raw activity windows (~1000 correlated count features).

    Linear discriminant analysis with Ledoit-Wolf shrinkage of the covariance: closed
    form, so an order of magnitude faster than an iterative logistic regression on
    windows of this size, and well conditioned when features outnumber trials.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")


def chance_level(y) -> float:
    """Accuracy of always predicting the most frequent class of ``y``."""
    _, counts = np.unique(np.asarray(y), return_counts=True)
    return float(counts.max() / counts.sum())


def linear_probe(z_train, y_train, z_test, y_test, *, max_train: int | None = 10_000, seed=0):
    """Accuracy of a logistic regression trained on (up to ``max_train``) training latents.

    The paper's latent-representation score: the classifier sees at most 10,000 training
    latents and is scored on all test latents.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(3, size=300); z = np.eye(3)[y] * 5 + rng.normal(size=(300, 3))
    >>> linear_probe(z[:200], y[:200], z[200:], y[200:]) > 0.95
    True
    """
    z_train, y_train = np.asarray(z_train), np.asarray(y_train)
    if max_train is not None and len(z_train) > max_train:
        keep = np.random.default_rng(seed).choice(len(z_train), max_train, replace=False)
        z_train, y_train = z_train[keep], y_train[keep]
    clf = default_classifier(seed).fit(z_train, y_train)
    return float(clf.score(np.asarray(z_test), np.asarray(y_test)))


def decode_labels(
    train: Mapping[str, tuple[np.ndarray, np.ndarray]],
    test: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    subject_dim: str = "subject",
    classifier=None,
    seed: int = 0,
    n_shuffles: int = 10,
) -> xr.Dataset:
    """Decode a label from each subject's latents, and transfer decoders across subjects.

    Parameters
    ----------
    train, test : mapping subject -> (latents (n, d), labels (n,))
        Latents of the training trials (to fit the classifiers) and of held-out trials
        (to score them).
    subject_dim : str
        Name of the subject dimension of the result.
    classifier : scikit-learn classifier, optional
        Default: standardised logistic regression.
    seed : int
        Seed of the classifier and of the label shuffles.
    n_shuffles : int, default=10
        Label shuffles averaged in the ``shuffled`` control.

    Returns
    -------
    xarray.Dataset
        ``accuracy`` (subject): trained and tested within the subject;
        ``transfer`` (train_<dim>, test_<dim>): trained on one subject's training
        latents, tested on another's held-out latents (the diagonal equals
        ``accuracy``); ``chance`` (subject): the majority-class rate of the subject's
        test labels; ``shuffled`` (subject): mean accuracy of the same classifier trained on
        shuffled training labels (a control that should sit near chance).
    """
    subjects = list(train)
    base = classifier if classifier is not None else default_classifier(seed)
    rng = np.random.default_rng(seed)
    fitted, shuffled, chance = {}, {}, {}
    for s in subjects:
        z, y = train[s]
        fitted[s] = clone(base).fit(z, y)
        z_test, y_test = test[s]
        # one shuffle is a noisy control (on separable latents a shuffled classifier maps
        # whole clusters to random labels and can score anywhere from 0 to far above
        # chance): average over n_shuffles
        shuffled[s] = float(
            np.mean(
                [
                    clone(base).fit(z, rng.permutation(y)).score(z_test, y_test)
                    for _ in range(n_shuffles)
                ]
            )
        )
        chance[s] = chance_level(y_test)
    transfer = np.array(
        [[fitted[a].score(*test[b]) for b in subjects] for a in subjects], dtype=float
    )
    names = np.array(subjects, dtype=object)
    return xr.Dataset(
        {
            "accuracy": (subject_dim, np.diag(transfer).copy()),
            "transfer": ((f"train_{subject_dim}", f"test_{subject_dim}"), transfer),
            "chance": (subject_dim, np.array([chance[s] for s in subjects])),
            "shuffled": (subject_dim, np.array([shuffled[s] for s in subjects])),
        },
        coords={
            subject_dim: names,
            f"train_{subject_dim}": names,
            f"test_{subject_dim}": names,
        },
        attrs={"description": "accuracy of decoding the label from latents of held-out trials"},
    )
