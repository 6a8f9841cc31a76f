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
    "permute_by_group",
    "trial_interval",
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


def _unpack(part, subject: str, side: str):
    """(latents, labels, groups) of one subject; groups default to one per row."""
    if len(part) == 3:
        z, y, groups = part
    elif len(part) == 2:
        z, y = part
        groups = None
    else:
        raise ValueError(
            f"subject {subject!r}: {side} must be (latents, labels) or (latents, labels, "
            f"trials), got a tuple of {len(part)}"
        )
    z, y = np.asarray(z), np.asarray(y)
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    if not (len(z) == len(y) == len(groups)):
        raise ValueError(
            f"subject {subject!r}: {side}: latents ({len(z)}), labels ({len(y)}) and trials "
            f"({len(groups)}) differ in length"
        )
    return z, y, groups


def _group_ids(groups: np.ndarray) -> tuple[np.ndarray, int]:
    _, ids = np.unique(groups, return_inverse=True)
    return ids.ravel(), int(ids.max()) + 1 if len(ids) else 0


def permute_by_group(y, groups, rng: np.random.Generator) -> np.ndarray:
    """Shuffle labels between groups (trials): every row of a group gets one new label.

    Windows of one trial share its label; a permutation of single windows would break
    that structure and make a control that is too easy to beat. Each group must carry
    one label.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array(list("AAABBBCCC")); trial = np.repeat([0, 1, 2], 3)
    >>> out = permute_by_group(y, trial, np.random.default_rng(0))
    >>> [len(set(out[trial == t])) for t in range(3)], sorted(out.tolist()) == sorted(y)
    ([1, 1, 1], True)
    """
    y, groups = np.asarray(y), np.asarray(groups)
    ids, n = _group_ids(groups)
    first = np.full(n, -1)
    first[ids[::-1]] = np.arange(len(ids))[::-1]  # first row of every group
    per_group = y[first]
    if np.any(per_group[ids] != y):
        raise ValueError("labels must be constant within each trial to shuffle them by trial")
    return rng.permutation(per_group)[ids]


def trial_interval(correct, groups, *, level: float = 0.95, n_boot: int = 2000, seed=0):
    """Percentile-bootstrap interval of a window accuracy, resampling whole trials.

    The windows of one trial are not independent (they share its latent trajectory and
    its label), so the interval resamples trials, each with all its windows; the
    statistic is the fraction of correct windows of the resampled trials.

    Parameters
    ----------
    correct : array of bool, shape (n_windows,)
    groups : array, shape (n_windows,)
        The trial of every window.

    Returns
    -------
    (low, high) : tuple of float

    Examples
    --------
    >>> import numpy as np
    >>> correct = np.repeat([1, 1, 1, 0], 10).astype(bool)   # 4 trials, 3 right
    >>> low, high = trial_interval(correct, np.repeat(np.arange(4), 10))
    >>> low <= 0.75 <= high, high - low > 0.3   # wide: only 4 independent trials
    (True, True)
    """
    correct = np.asarray(correct, dtype=float)
    ids, n = _group_ids(np.asarray(groups))
    if n == 0:
        return (np.nan, np.nan)
    hits = np.bincount(ids, weights=correct, minlength=n)
    sizes = np.bincount(ids, minlength=n).astype(float)
    draws = np.random.default_rng(seed).integers(n, size=(n_boot, n))
    stats = hits[draws].sum(axis=1) / sizes[draws].sum(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [tail, 1.0 - tail])
    return float(low), float(high)


def decode_labels(
    train: Mapping[str, tuple],
    test: Mapping[str, tuple],
    *,
    subject_dim: str = "subject",
    classifier=None,
    seed: int = 0,
    n_shuffles: int = 10,
    level: float = 0.95,
) -> xr.Dataset:
    """Decode a label from each subject's latents, and transfer decoders across subjects.

    Parameters
    ----------
    train, test : mapping subject -> (latents (n, d), labels (n,)[, trials (n,)])
        Latents of the training trials (to fit the classifiers) and of held-out trials
        (to score them). The optional third element names the trial of every row
        (window): labels are shuffled by trial and intervals resample trials. Without
        it every row is its own trial.
    subject_dim : str
        Name of the subject dimension of the result.
    classifier : scikit-learn classifier, optional
        Default: standardised logistic regression.
    seed : int
        Seed of the classifier, the label shuffles and the bootstrap.
    n_shuffles : int, default=10
        Label shuffles averaged in the ``shuffled`` control (0: no control, NaN).
    level : float, default=0.95
        Coverage of the intervals.

    Returns
    -------
    xarray.Dataset
        ``accuracy`` (subject): trained and tested within the subject;
        ``transfer`` (train_<dim>, test_<dim>): trained on one subject's training
        latents, tested on another's held-out latents (the diagonal equals
        ``accuracy``); ``accuracy_ci`` and ``transfer_ci`` (..., bound): their
        percentile-bootstrap intervals over held-out *trials* (windows of a trial are
        not independent; see :func:`trial_interval`); ``chance`` (subject): the
        majority-class rate of the subject's test labels; ``shuffled`` (subject): mean
        accuracy of the same classifier trained on training labels permuted *between
        trials* (every window of a trial keeps one label), a control that should sit
        near chance.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(rng.integers(2, size=40), 5); trial = np.repeat(np.arange(40), 5)
    >>> z = y[:, None] * 3.0 + rng.normal(size=(200, 1))
    >>> part = {"a": (z, y, trial), "b": (z + 0.1, y, trial)}
    >>> ds = decode_labels(part, part)
    >>> float(ds.accuracy.min()) > 0.9, ds.accuracy_ci.dims
    (True, ('subject', 'bound'))
    """
    subjects = list(train)
    missing = [s for s in subjects if s not in test]
    if missing:
        raise ValueError(f"subject {missing[0]!r}: no held-out latents to score on")
    train = {s: _unpack(train[s], s, "train") for s in subjects}
    test = {s: _unpack(test[s], s, "test") for s in subjects}
    base = classifier if classifier is not None else default_classifier(seed)
    rng = np.random.default_rng(seed)
    fitted, shuffled, chance = {}, {}, {}
    for s in subjects:
        z, y, groups = train[s]
        fitted[s] = clone(base).fit(z, y)
        z_test, y_test, _ = test[s]
        # one shuffle is a noisy control (on separable latents a shuffled classifier maps
        # whole clusters to random labels and can score anywhere from 0 to far above
        # chance): average over n_shuffles
        scores = [
            clone(base).fit(z, permute_by_group(y, groups, rng)).score(z_test, y_test)
            for _ in range(n_shuffles)
        ]
        shuffled[s] = float(np.mean(scores)) if scores else np.nan  # n_shuffles=0: none
        chance[s] = chance_level(y_test)
    n = len(subjects)
    transfer = np.zeros((n, n))
    transfer_ci = np.zeros((n, n, 2))
    for i, a in enumerate(subjects):
        for j, b in enumerate(subjects):
            z_test, y_test, groups = test[b]
            correct = fitted[a].predict(z_test) == y_test
            transfer[i, j] = correct.mean() if len(correct) else np.nan
            transfer_ci[i, j] = trial_interval(correct, groups, level=level, seed=seed)
    names = np.array(subjects, dtype=object)
    diag = np.arange(n)
    return xr.Dataset(
        {
            "accuracy": (subject_dim, transfer[diag, diag].copy()),
            "accuracy_ci": ((subject_dim, "bound"), transfer_ci[diag, diag].copy()),
            "transfer": ((f"train_{subject_dim}", f"test_{subject_dim}"), transfer),
            "transfer_ci": ((f"train_{subject_dim}", f"test_{subject_dim}", "bound"), transfer_ci),
            "chance": (subject_dim, np.array([chance[s] for s in subjects])),
            "shuffled": (subject_dim, np.array([shuffled[s] for s in subjects])),
        },
        coords={
            subject_dim: names,
            f"train_{subject_dim}": names,
            f"test_{subject_dim}": names,
            "bound": ["low", "high"],
        },
        attrs={
            "description": "accuracy of decoding the label from latents of held-out trials",
            "interval": (
                f"{level:.0%} percentile bootstrap over held-out trials (all windows of a "
                "trial resampled together: they are not independent)"
            ),
            "shuffled_control": "training labels permuted between trials, n_shuffles="
            f"{n_shuffles}",
        },
    )
