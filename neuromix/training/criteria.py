"""Validation criteria: subjects predicted from each other, and the condition decoded.

:func:`cross_metrics` summarises the cross-prediction matrix of
:meth:`~neuromix.models.vae.MultimodalModule.cross_nll` (criterion ``"cross"``).

:class:`DecodingCriterion` scores a model the way the shared space is judged, on
validation data only: per subject, a linear discriminant (LDA: class means and a pooled
covariance, in the latent space of the encoders' means) is fitted on the subject's
training samples, and classifies the validation samples of the same subject (within)
and of every other subject (transfer). The criterion is one minus the mean of the two
accuracies (lower is better, as every criterion of :mod:`neuromix.training`).

The samples are given per subject as tensors (or as a function returning them in
chunks, for windows cut on the fly), with integer labels. Shapes follow
:mod:`neuromix.models.gaussian`: a latent is ``(n, latent)``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

__all__ = ["DecodingCriterion", "cross_metrics", "lda_fit", "lda_predict"]

#: Ridge added to the pooled covariance, relative to its mean variance.
_RIDGE = 1e-3


def lda_fit(z: Tensor, y: Tensor, n_classes: int) -> tuple[Tensor, Tensor, Tensor]:
    """Class means, pooled precision and log priors of a linear discriminant.

    Parameters
    ----------
    z : Tensor (n, d)
    y : Tensor (n,) of int in [0, n_classes)

    Returns
    -------
    means (n_classes, d), precision (d, d), log_prior (n_classes,); a class without
    samples gets a log prior of -inf.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[0.0], [2.0], [10.0], [12.0]]); y = torch.tensor([0, 0, 1, 1])
    >>> means, precision, log_prior = lda_fit(z, y, 2)
    >>> means.ravel().tolist(), round(float(1 / precision), 3)
    ([1.0, 11.0], 2.002)
    """
    z = z.double()
    counts = torch.bincount(y, minlength=n_classes).double()
    sums = torch.zeros(n_classes, z.shape[1], dtype=z.dtype, device=z.device)
    sums.index_add_(0, y, z)
    means = sums / counts.clamp(min=1).unsqueeze(1)
    centred = z - means[y]
    cov = centred.T @ centred / max(len(z) - n_classes, 1)
    cov = cov + _RIDGE * cov.diagonal().mean().clamp(min=1e-12) * torch.eye(
        z.shape[1], dtype=z.dtype, device=z.device
    )
    log_prior = torch.where(counts > 0, torch.log(counts / counts.sum()), -torch.inf)
    return means, torch.linalg.inv(cov), log_prior


def lda_predict(z: Tensor, means: Tensor, precision: Tensor, log_prior: Tensor) -> Tensor:
    """The most probable class of each row of ``z`` under :func:`lda_fit`'s model.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[0.0], [2.0], [10.0], [12.0]]); y = torch.tensor([0, 0, 1, 1])
    >>> lda_predict(torch.tensor([[3.0], [9.0]]), *lda_fit(z, y, 2)).tolist()
    [0, 1]
    """
    z = z.double()
    weights = means @ precision  # (classes, d)
    scores = z @ weights.T - 0.5 * (weights * means).sum(dim=1) + log_prior
    return scores.argmax(dim=1)


def cross_metrics(matrix: torch.Tensor) -> dict[str, float]:
    """The held-out criteria of a per-sample cross-prediction matrix (source m, target k).

    ``cross``: the mean over the ordered pairs m != k computed (NaN entries are pairs
    not computed) of -log p_k(x_k | mu_m(x_m)), each subject's held-out activity
    predicted from another subject's latent mean, paired by condition and window;
    ``self``: the mean over subjects of the diagonal, each subject reconstructed from its
    own latent mean.

    Examples
    --------
    >>> import torch
    >>> cross_metrics(torch.tensor([[1.0, 4.0], [6.0, 3.0]]))
    {'cross': 5.0, 'self': 2.0}
    >>> nan = float("nan")
    >>> cross_metrics(torch.tensor([[1.0, 4.0, nan], [nan, 3.0, 2.0], [6.0, nan, 5.0]]))
    {'cross': 4.0, 'self': 3.0}
    """
    n = matrix.shape[0]
    off = matrix[~torch.eye(n, dtype=torch.bool)]
    off = off[~torch.isnan(off)]
    return {
        "cross": float(off.mean()) if off.numel() else float("nan"),
        "self": float(matrix.diagonal().mean()),
    }


Chunks = Callable[[], Iterable[Tensor]]


@dataclass
class DecodingCriterion:
    """Validation decoding of the condition from the latents, within and across subjects.

    Attributes
    ----------
    train, validation : sequence over subjects of a function returning the subject's
        samples in chunks (each ``(n_chunk, *shape)``, the order fixed), or of a tensor
    train_labels, validation_labels : sequence over subjects of Tensor (n,) of int
    n_classes : int
    frozen : collection of int
        Subjects whose encoders do not change during training (those of a fitted model
        that gains a subject): their latents are computed once and kept.
    """

    train: Sequence[Chunks | Tensor]
    validation: Sequence[Chunks | Tensor]
    train_labels: Sequence[Tensor]
    validation_labels: Sequence[Tensor]
    n_classes: int
    frozen: Collection[int] = ()
    _kept: dict = field(default_factory=dict, repr=False)

    def _means(self, module, m: int, source) -> Tensor:
        if m in self.frozen:
            key = (m, id(source))
            if key not in self._kept:
                self._kept[key] = self._encode(module, m, source)
            return self._kept[key]
        return self._encode(module, m, source)

    def _encode(self, module, m: int, source) -> Tensor:
        chunks = [source] if isinstance(source, Tensor) else source()
        outs = []
        for x in chunks:
            inputs = [None] * module.n_subjects
            inputs[m] = x
            mu, _, _ = module.encode(inputs)
            outs.append(mu[:, m])
        return torch.cat(outs)

    @torch.no_grad()
    def __call__(self, module) -> dict[str, float]:
        """``decode`` (1 - the mean of within and transfer accuracy), ``decode_within``
        and ``decode_transfer`` of ``module`` (in eval mode while it is read)."""
        was_training = module.training
        module.train(False)
        try:
            n = module.n_subjects
            models = []
            for m in range(n):
                z = self._means(module, m, self.train[m])
                models.append(lda_fit(z, self.train_labels[m].to(z.device), self.n_classes))
            val = [self._means(module, k, self.validation[k]) for k in range(n)]
        finally:
            module.train(was_training)
        within, transfer = [], []
        for m in range(n):
            for k in range(n):
                y = self.validation_labels[k].to(val[k].device)
                if len(y) == 0:
                    continue
                accuracy = float((lda_predict(val[k], *models[m]) == y).double().mean())
                (within if m == k else transfer).append(accuracy)
        within_acc = sum(within) / len(within) if within else float("nan")
        transfer_acc = sum(transfer) / len(transfer) if transfer else float("nan")
        both = [a for a in (within_acc, transfer_acc) if a == a]
        return {
            "decode": 1.0 - sum(both) / len(both) if both else float("nan"),
            "decode_within": within_acc,
            "decode_transfer": transfer_acc,
        }
