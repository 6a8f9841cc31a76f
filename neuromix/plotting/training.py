"""Training curves: the loss and its terms per epoch, on training and held-out data."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from neuromix._validation import Options, check_params
from neuromix.plotting._axes import axes_list

__all__ = ["plot_training"]

#: Panels of the figure: the columns drawn in each (held-out columns are ``val_<name>``).
PANELS = (("loss",), ("recon", "rate"), ("cross", "self"), ("decode_within", "decode_transfer"))
_TITLES = (
    "loss",
    "reconstruction and rate",
    "prediction from latent means",
    "decoding accuracy",
)
#: ``log=None`` uses a log scale when a panel's positive values span more than this factor.
AUTO_LOG_RATIO = 20.0


def _scale(values: np.ndarray, log: bool | None) -> str:
    values = values[np.isfinite(values)]
    positive = values.size > 0 and bool((values > 0).all())
    if log is None:
        return "log" if positive and values.max() / values.min() > AUTO_LOG_RATIO else "linear"
    if not log:
        return "linear"
    return "log" if positive else "symlog"


def _axes(ax, n_panels: int, figsize):
    if ax is None:
        if figsize is None:
            figsize = (4.2 * n_panels, 3.2)
        fig, axes = plt.subplots(1, n_panels, figsize=figsize, layout="constrained")
        return fig, list(np.atleast_1d(axes))
    axes = axes_list(ax, n_panels)
    if axes is None:
        raise ValueError(
            f"ax must be one Axes (the loss panel) or a sequence of {n_panels} Axes, got {ax!r}"
        )
    return axes[0].figure, axes


def plot_training(
    history: pd.DataFrame,
    *,
    ax=None,
    log: bool | None = None,
    figsize: tuple[float, float] | None = None,
    best_epoch: int | None = None,
):
    """Loss per epoch on training and validation data, its reconstruction and rate
    terms, and the cross-subject prediction of the validation data.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per epoch with columns ``epoch`` and ``loss``, and optionally
        ``recon``, ``rate``, their validation counterparts ``val_loss``, ``val_recon``,
        ``val_rate`` (drawn dashed), ``val_cross`` and ``val_self`` (each subject's
        validation activity predicted from another subject's latent mean, and from its
        own), ``val_decode_within`` and ``val_decode_transfer`` (the validation
        condition decoded from the latents, within and across subjects), each pair in a
        panel of its own, and ``alpha`` (drawn on a right axis of the loss panel when
        it changes), as in :attr:`neuromix.NeuralModel.history_`.
    ax : matplotlib Axes or sequence of Axes, optional
        Where to draw: one Axes gets only the loss panel; a sequence gets the panels in
        order (as many as it holds). Default: a new figure with every panel.
    log : bool, optional
        Logarithmic y axes (symmetric-log for a panel with values <= 0). Default: a log
        axis for a panel whose positive values span more than a factor of 20.
    figsize : (float, float), optional
        Size of a new figure.
    best_epoch : int, optional
        The epoch whose weights early stopping kept, marked on every panel.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> history = pd.DataFrame({"epoch": [0, 1, 2], "loss": [9.0, 5.0, 4.0],
    ...                         "recon": [8.0, 4.0, 3.0], "rate": [1.0, 1.0, 1.0]})
    >>> fig = plot_training(history)
    >>> [ax.get_title() for ax in fig.axes]
    ['loss', 'reconstruction and rate']
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    if not isinstance(history, pd.DataFrame):
        raise TypeError(f"history must be a pandas DataFrame, got {type(history).__name__}")
    missing = [c for c in ("epoch", "loss") if c not in history.columns]
    if missing:
        raise ValueError(
            f"history has no column {', '.join(map(repr, missing))}; "
            f"columns: {', '.join(map(str, history.columns))}"
        )
    if len(history) == 0:
        raise ValueError("history has no rows (no epoch was trained)")
    check_params({"log": log}, {"log": Options((None, True, False))})

    panels = [
        cols
        for cols in PANELS
        if any(c in history.columns or f"val_{c}" in history.columns for c in cols)
    ]
    fig, axes = _axes(ax, len(panels), figsize)
    epoch = history["epoch"].to_numpy()
    marker = "o" if len(history) <= 30 else None
    for i, (ax_, columns) in enumerate(zip(axes, panels, strict=False)):
        drawn = []
        for j, name in enumerate(columns):
            for column, style, suffix in ((name, "-", ""), (f"val_{name}", "--", " (validation)")):
                if column not in history.columns:
                    continue
                values = pd.to_numeric(history[column], errors="coerce").to_numpy(dtype=float)
                ok = np.isfinite(values)
                ax_.plot(
                    epoch[ok],
                    values[ok],
                    style,
                    color=f"C{i + j}",
                    marker=marker,
                    markersize=3,
                    label=name + suffix,
                )
                drawn.append(values)
        ax_.set_yscale(_scale(np.concatenate(drawn), log))
        if best_epoch is not None:
            ax_.axvline(best_epoch, color="0.3", linestyle=":", linewidth=1)
            if i == 0:
                ax_.plot([], [], ":", color="0.3", label=f"kept: epoch {best_epoch}")
        ax_.set_title(_TITLES[PANELS.index(columns)])
        ax_.set_xlabel("epoch")
        ax_.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_.set_ylabel("mean per sample" if i == 0 else "")
        ax_.legend(fontsize="small")
    if "alpha" in history.columns and history["alpha"].nunique(dropna=True) > 1:
        twin = axes[0].twinx()
        twin.plot(epoch, history["alpha"].to_numpy(), ":", color="0.4", label="alpha")
        twin.set_ylabel("alpha (dotted)")
    return fig
