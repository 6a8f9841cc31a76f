"""One decoder for every method, and intervals of the means across subjects.

:func:`score` decodes the label with :func:`neuromix.evaluation.decode_labels` (its
default standardised logistic regression: trained on a subject's training trials,
scored on held-out trials of the same subject -- within -- and of every other subject
-- transfer) and summarises: within-subject accuracy (mean over subjects), transfer
(mean over ordered pairs off the diagonal), worst ordered pair, chance. Their 95%
intervals over trials come from :func:`joint_bootstrap`: every draw resamples the
held-out trials of every subject at once and recomputes the means and the minimum, so
the interval is one of the mean (averaging per-subject bounds would not be).
:func:`seed_interval` gives the interval over seeds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from neuromix.evaluation.decoding import decode_labels, default_classifier

__all__ = ["joint_bootstrap", "score", "seed_interval", "split_digest"]


def seed_interval(values, level: float = 0.95) -> tuple[float, float]:
    """mean +- t * sd / sqrt(n) over seeds (NaN with fewer than two finite values).

    Examples
    --------
    >>> low, high = seed_interval([0.6, 0.7, 0.8])
    >>> round(low, 3), round(high, 3)
    (0.452, 0.948)
    """
    from scipy.stats import t

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return (np.nan, np.nan)
    half = t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return (float(v.mean() - half), float(v.mean() + half))


def joint_bootstrap(correct, groups, chance_hits, *, n_boot=2000, seed=0, level=0.95):
    """Percentile intervals of the summaries, resampling every subject's held-out trials.

    Parameters
    ----------
    correct : mapping (train subject, test subject) -> bool array over the test
        subject's held-out windows
    groups : mapping subject -> array of the trial of each held-out window
    chance_hits : mapping subject -> bool array, the windows of the majority class

    Returns
    -------
    dict of (low, high)
        ``within`` (mean of the diagonal), ``transfer`` (mean off the diagonal),
        ``worst_pair`` (minimum off the diagonal), ``worst_margin`` (minimum of
        transfer minus the test subject's chance), ``chance`` (mean over subjects).
        Draw b resamples each subject's trials once: all pairs tested on a subject see
        the same draw.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.repeat(np.arange(20), 4); right = np.ones(80, bool)
    >>> ci = joint_bootstrap({("a", "a"): right, ("a", "b"): right, ("b", "a"): right,
    ...                       ("b", "b"): right}, {"a": g, "b": g}, {"a": right, "b": right})
    >>> ci["transfer"], ci["within"]
    ((1.0, 1.0), (1.0, 1.0))
    """
    subjects = list(groups)
    n = len(subjects)
    rng = np.random.default_rng(seed)
    acc = np.full((n_boot, n, n), np.nan)
    chance = np.zeros((n_boot, n))
    for j, b in enumerate(subjects):
        _, ids = np.unique(np.asarray(groups[b]), return_inverse=True)
        k = int(ids.max()) + 1
        draws = rng.integers(k, size=(n_boot, k))
        sizes = np.bincount(ids, minlength=k)[draws].sum(axis=1)

        def resampled(hits_per_window, ids=ids, k=k, draws=draws, sizes=sizes):
            hits = np.bincount(ids, weights=np.asarray(hits_per_window, float), minlength=k)
            return hits[draws].sum(axis=1) / sizes

        for i, a in enumerate(subjects):
            if (a, b) in correct:
                acc[:, i, j] = resampled(correct[(a, b)])
        chance[:, j] = resampled(chance_hits[b])
    off = ~np.eye(n, dtype=bool)
    diag = np.arange(n)
    stats = {"within": acc[:, diag, diag].mean(axis=1), "chance": chance.mean(axis=1)}
    if n > 1 and np.isfinite(acc[:, off]).all():
        stats["transfer"] = acc[:, off].mean(axis=1)
        stats["worst_pair"] = acc[:, off].min(axis=1)
        stats["worst_margin"] = (acc - chance[:, None, :])[:, off].min(axis=1)
    tail = (1 - level) / 2
    out = {}
    for name in ("within", "transfer", "worst_pair", "worst_margin", "chance"):
        if name in stats:
            low, high = np.quantile(stats[name], [tail, 1 - tail])
            out[name] = (float(low), float(high))
        else:
            out[name] = (np.nan, np.nan)
    return out


def split_digest(data) -> str:
    """Short hash of every subject's held-out trials (the same for every method)."""
    text = ";".join(
        f"{s}:{','.join(map(str, sorted(set(np.asarray(d.trials)[d.test].tolist()), key=str)))}"
        for s, d in data.items()
    )
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def score(
    latents: Mapping[str, np.ndarray],
    data,
    *,
    seed: int = 0,
    within_only: bool = False,
    n_boot: int = 2000,
    n_shuffles: int = 10,
    level: float = 0.95,
) -> dict:
    """Decode the label from every subject's latents; summaries and their intervals.

    Parameters
    ----------
    latents : mapping subject -> array (n, d)
        Row for row with ``data[subject]``.
    data : mapping subject -> SubjectData
    seed : int
        Seed of the classifier, the shuffles and the bootstrap.
    within_only : bool
        Decode within each subject only (the raw windows, whose sizes differ between
        subjects): transfer is NaN.

    Returns
    -------
    dict
        JSON-able: the summaries ``within``, ``transfer``, ``worst_pair``,
        ``worst_margin``, ``chance``, ``shuffled`` with ``<name>_ci`` (joint bootstrap
        over trials), and the per-subject ``accuracy``, ``accuracy_ci``,
        ``transfer_matrix``, ``transfer_matrix_ci``, ``chance_per_subject`` and
        ``shuffled_per_subject`` of :func:`~neuromix.evaluation.decode_labels`.
    """
    subjects = list(data)
    parts = {"train": {}, "test": {}}
    for s, d in data.items():
        z = np.asarray(latents[s])
        for name, rows in (("train", ~d.test), ("test", d.test)):
            parts[name][s] = (z[rows], d.labels[rows], d.trials[rows])
    n = len(subjects)
    transfer = np.full((n, n), np.nan)
    transfer_ci = np.full((n, n, 2), np.nan)
    if within_only:
        decoded = [
            decode_labels(
                {s: parts["train"][s]},
                {s: parts["test"][s]},
                seed=seed,
                n_shuffles=n_shuffles,
                level=level,
            )
            for s in subjects
        ]
        accuracy = np.array([float(ds.accuracy.values[0]) for ds in decoded])
        accuracy_ci = np.array([ds.accuracy_ci.values[0] for ds in decoded])
        chance = np.array([float(ds.chance.values[0]) for ds in decoded])
        shuffled = np.array([float(ds.shuffled.values[0]) for ds in decoded])
        transfer[np.arange(n), np.arange(n)] = accuracy
        transfer_ci[np.arange(n), np.arange(n)] = accuracy_ci
    else:
        ds = decode_labels(
            parts["train"], parts["test"], seed=seed, n_shuffles=n_shuffles, level=level
        )
        accuracy, accuracy_ci = ds.accuracy.values, ds.accuracy_ci.values
        chance, shuffled = ds.chance.values, ds.shuffled.values
        transfer, transfer_ci = ds.transfer.values, ds.transfer_ci.values
    # The same classifiers again (same data, same seed: the same fits) for their
    # predictions, which the joint bootstrap needs and decode_labels does not return.
    correct, chance_hits, groups = {}, {}, {}
    fitted = {s: default_classifier(seed).fit(*parts["train"][s][:2]) for s in subjects}
    for j, b in enumerate(subjects):
        z, y, g = parts["test"][b]
        groups[b] = g
        values, counts = np.unique(y, return_counts=True)
        chance_hits[b] = y == values[np.argmax(counts)]
        for i, a in enumerate(subjects):
            if within_only and a != b:
                continue
            correct[(a, b)] = fitted[a].predict(z) == y
            if not np.isclose(correct[(a, b)].mean(), transfer[i, j]):
                raise RuntimeError(f"refitted decoder {a} -> {b} differs from decode_labels'")
    ci = joint_bootstrap(correct, groups, chance_hits, n_boot=n_boot, seed=seed, level=level)
    off = ~np.eye(n, dtype=bool)
    margin = transfer - chance[None, :]
    finite = n > 1 and np.isfinite(transfer[off]).all()
    out = {
        "subjects": subjects,
        "within": float(np.mean(accuracy)),
        "transfer": float(transfer[off].mean()) if finite else np.nan,
        "worst_pair": float(transfer[off].min()) if finite else np.nan,
        "worst_margin": float(margin[off].min()) if finite else np.nan,
        "chance": float(np.mean(chance)),
        "shuffled": float(np.mean(shuffled)),
    }
    out.update({f"{name}_ci": list(ci[name]) for name in ci})
    out.update(
        accuracy=np.asarray(accuracy).tolist(),
        accuracy_ci=np.asarray(accuracy_ci).tolist(),
        transfer_matrix=transfer.tolist(),
        transfer_matrix_ci=transfer_ci.tolist(),
        chance_per_subject=np.asarray(chance).tolist(),
        shuffled_per_subject=np.asarray(shuffled).tolist(),
        n_test_trials={s: len(set(np.asarray(parts["test"][s][2]).tolist())) for s in subjects},
        split=split_digest(data),
    )
    return out
