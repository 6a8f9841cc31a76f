"""Early stopping: each model's best epoch on a validation criterion, and its weights.

One :class:`EarlyStopping` follows any number of models (one fit, or the models of an
ensemble): after every epoch it is told each model's value of the monitored validation
column (lower is better); it keeps a copy of a model's weights whenever that value is
the best so far, and says a model is done once ``patience`` epochs have passed without
a better value. At the end, :meth:`restore` puts every model's best weights back.

The validation columns are those of :func:`neuromix.training.loop.validation_metrics`;
the criterion a fit monitors, and why, is documented on :class:`neuromix.NeuralModel`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Per-model best epoch, patience and best weights.

    Parameters
    ----------
    n_models : int
    patience : int or None
        Epochs without a better value after which a model is done; None never stops
        (the best epoch is still tracked and restored).
    monitor : str
        Name of the validation column followed (e.g. ``"val_loss"``).
    min_epochs : int, default=0
        Epochs before which no epoch is the best and patience does not run: the
        cross-subject criterion is lowest at the very start, when every subject's
        decoder predicts mean rates, before it rises as each subject learns a latent of
        its own, and falls again as the rate aligns them.
    shared : bool, default=False
        The models are candidates of one choice (``beta="auto"``): besides its own
        patience, every model is done once ``patience`` epochs have passed without any
        model improving the best value of all of them. A model still improving on its
        own but not on the best of the others would not be chosen, so it is not trained
        further. False: the models are independent (a sweep), each stops as its
        separate fit would.
    halving : bool, default=False
        Successive halving of candidates (``beta="auto"``; Jamieson & Talwalkar 2016):
        at the end of epochs ``r``, ``2r``, ``4r``, ... (``r = max(min_epochs, 1)``, in
        epochs completed), :meth:`end_epoch` makes the worse half (rounded down) of the
        models still training done, ranked by the best value each has had so far,
        epochs before ``min_epochs`` included. They are never the choice
        (:attr:`culled`), and the best of all that the shared patience reads is that of
        the models left. Only :meth:`end_epoch` culls: models trained in turn, one
        after another, are not culled.
    brackets : sequence of int, optional
        With ``halving``, a bracket per model (Hyperband's brackets): each bracket is
        halved on its own, the worse half of the models still training *in that
        bracket*, so the last model of each bracket is never culled and brackets are
        compared only by their best values (``link="auto"``: one bracket per link, so
        that a link whose models learn slowly is not culled for the other's early
        lead). Default: all models in one bracket.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(1, 1)
    >>> stop = EarlyStopping(1, patience=2, monitor="val_loss")
    >>> [stop.update(0, epoch, value, net) for epoch, value in enumerate([3.0, 2.0, 2.5, 2.2])]
    [True, True, False, False]
    >>> stop.best_epoch[0], stop.done(0)
    (1, True)
    >>> stop = EarlyStopping(1, patience=2, monitor="val_loss", min_epochs=2)
    >>> values = [1.0, 2.0, 2.5, 2.2, 2.3, 2.4]
    >>> [stop.update(0, epoch, value, net) for epoch, value in enumerate(values)]
    [False, False, True, True, False, False]
    >>> stop.best_epoch[0], stop.done(0)
    (3, True)

    Shared: model 1 improves on itself at epochs 1-3 but never on model 0's 1.0

    >>> stop = EarlyStopping(2, patience=2, monitor="val_loss", shared=True)
    >>> for epoch, values in enumerate([(1.0, 5.0), (1.5, 4.0), (1.6, 3.0), (1.7, 2.0)]):
    ...     _ = [stop.update(k, epoch, v, net) for k, v in enumerate(values)]
    >>> stop.best_epoch, stop.done(1), stop.all_done()
    ([0, 2], True, True)

    Halving: after epochs 2 and 4 (``min_epochs=2``), the worse half of three models
    by their best value so far, then of the two left

    >>> stop = EarlyStopping(3, patience=5, monitor="val_loss", min_epochs=2, halving=True)
    >>> for epoch in range(4):
    ...     _ = [stop.update(k, epoch, v, net) for k, v in enumerate((3.0, 1.0, 2.0))]
    ...     stop.end_epoch(epoch)
    ...     print(epoch, stop.culled)
    0 [None, None, None]
    1 [1, None, None]
    2 [1, None, None]
    3 [1, None, 3]
    >>> [stop.done(k) for k in range(3)]
    [True, False, True]

    Two brackets of two: at the rung, each bracket's worse model is culled, even where
    it beats the other bracket's better one

    >>> stop = EarlyStopping(4, patience=5, monitor="val_loss", min_epochs=2, halving=True,
    ...                      brackets=[0, 0, 1, 1])
    >>> for epoch in range(2):
    ...     _ = [stop.update(k, epoch, v, net) for k, v in enumerate((1.0, 2.0, 3.0, 4.0))]
    ...     stop.end_epoch(epoch)
    >>> stop.culled
    [None, 1, None, 1]
    """

    def __init__(
        self,
        n_models: int,
        *,
        patience: int | None,
        monitor: str,
        min_epochs: int = 0,
        shared: bool = False,
        halving: bool = False,
        brackets: Sequence[int] | None = None,
    ):
        self.patience = None if patience is None else int(patience)
        self.halving = bool(halving)
        if brackets is not None and len(brackets) != n_models:
            raise ValueError(f"brackets: one per model ({n_models}), got {len(brackets)}")
        self.brackets = [0] * n_models if brackets is None else [int(b) for b in brackets]
        self._seen = [math.inf] * n_models  # best value so far, epochs < min_epochs too
        self.culled: list[int | None] = [None] * n_models  # the epoch a model was culled
        self.monitor = monitor
        self.min_epochs = int(min_epochs)
        self.shared = bool(shared)
        self._overall: tuple[float, int] | None = None  # the best of all models, its epoch
        self._told = [-1] * n_models  # the latest epoch each model was told
        self.best = [math.inf] * n_models
        self.best_epoch: list[int | None] = [None] * n_models
        self.wait = [0] * n_models
        self._states: list[dict[str, Tensor] | None] = [None] * n_models

    def update(self, k: int, epoch: int, value: float, module: nn.Module) -> bool:
        """Record model k's value at ``epoch``; keep its weights when it is the best.
        A value that is not finite is never the best; a model that is done keeps the best
        it had (as a separate fit, which would have stopped). Returns whether it was."""
        if self.done(k):
            return False
        value = float(value)
        if math.isfinite(value):
            self._seen[k] = min(self._seen[k], value)
        if epoch < self.min_epochs:
            return False
        self._told[k] = int(epoch)
        if math.isfinite(value) and (self.best_epoch[k] is None or value < self.best[k]):
            if self._overall is None or value < self._overall[0]:
                self._overall = (value, int(epoch))
            self.best[k], self.best_epoch[k], self.wait[k] = value, epoch, 0
            self._states[k] = {n: t.detach().clone() for n, t in module.state_dict().items()}
            return True
        self.wait[k] += 1
        return False

    def end_epoch(self, epoch: int) -> None:
        """Call once every model has been told ``epoch``: with ``halving``, at a rung
        (``epoch + 1`` is ``r`` times a power of 2) cull the worse half of the models
        still training."""
        if not self.halving:
            return
        rung = max(self.min_epochs, 1)
        completed = int(epoch) + 1
        if completed < rung or completed % rung or (completed // rung) & (completed // rung - 1):
            return
        alive = [k for k in range(len(self.best)) if not self.done(k)]
        for bracket in sorted(set(self.brackets)):
            # stable order: ties keep the earlier model (the smaller beta of the grid)
            ranked = sorted(
                (k for k in alive if self.brackets[k] == bracket), key=lambda k: self._seen[k]
            )
            for k in ranked[len(ranked) - len(ranked) // 2 :]:
                self.culled[k] = int(epoch)
        bests = [
            (self.best[k], self.best_epoch[k])
            for k in range(len(self.best))
            if self.culled[k] is None and self.best_epoch[k] is not None
        ]
        self._overall = min(bests) if bests else None

    def done(self, k: int) -> bool:
        """Whether model k has waited ``patience`` epochs without a better value (or,
        ``shared``, all models have without a better value than the best of all), or
        was culled (``halving``)."""
        if self.culled[k] is not None:
            return True
        if self.patience is None:
            return False
        if self.wait[k] >= self.patience:
            return True
        # the epochs model k has been told since the best of all (the same count for
        # every model at the end of an epoch, whatever order they were told in)
        return (
            self.shared
            and self._overall is not None
            and self._told[k] - self._overall[1] >= self.patience
        )

    def all_done(self) -> bool:
        return all(self.done(k) for k in range(len(self.best)))

    def state(self, k: int) -> dict[str, Tensor] | None:
        """Model k's best weights (None before any finite value)."""
        return self._states[k]

    def resume(self, k: int, history: Sequence[dict], state) -> None:
        """Resume the tracking of model k from the ``history`` of its completed epochs
        (their ``best`` flags and monitored values) and its best weights ``state``."""
        best = [i for i, r in enumerate(history) if r.get("best")]
        if not best or state is None:
            return
        self.best_epoch[k] = int(history[best[-1]]["epoch"])
        self.best[k] = float(history[best[-1]][self.monitor])
        self.wait[k] = len(history) - 1 - best[-1]
        self._told[k] = len(history) - 1
        if self._overall is None or self.best[k] < self._overall[0]:
            self._overall = (self.best[k], self.best_epoch[k])
        self._states[k] = state

    def restore(self, modules: Sequence[nn.Module]) -> None:
        """Load every model's best weights (models without a best keep theirs)."""
        for k, module in enumerate(modules):
            if self._states[k] is not None:
                module.load_state_dict(self._states[k])
