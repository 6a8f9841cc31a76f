"""How ``beta="auto"`` chose: the validation criterion of every beta of its grid."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from neuromix.plotting._axes import axes_list

__all__ = ["plot_beta_selection"]

_LABELS = {
    "val_cross": "cross-subject prediction (validation NLL)",
    "val_elbo": "negative ELBO (validation)",
    "val_decode": "decoding error (validation)",
}


def plot_beta_selection(selection: xr.Dataset, *, ax=None, figsize=None):
    """The criterion at each beta's best epoch, and its curve over epochs per beta.

    Parameters
    ----------
    selection : xarray.Dataset
        A beta selection record, as ``model.vae_.beta_selection_`` of a model fitted
        with ``beta="auto"``: ``score`` and ``best_epoch`` over ``beta``, ``curve`` over
        ``(beta, epoch)``, and the ``criterion`` and ``chosen_beta`` attributes; with
        ``link="auto"``, also ``link_score`` over ``(beta, link)`` (each link drawn),
        ``kept_link`` and ``chosen_link``.
    ax : matplotlib Axes or sequence of two Axes, optional
        One Axes gets the score panel only; two get both panels.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> sel = xr.Dataset(
    ...     {"score": ("beta", [3.0, 2.0, 2.5]), "best_epoch": ("beta", [4, 5, 3]),
    ...      "curve": (("beta", "epoch"), np.arange(18.0).reshape(3, 6)[:, ::-1])},
    ...     coords={"beta": [1.0, 4.0, 16.0], "epoch": np.arange(6)},
    ...     attrs={"criterion": "val_cross", "chosen_beta": 4.0})
    >>> fig = plot_beta_selection(sel)
    >>> len(fig.axes)
    2
    >>> plt.close(fig)
    """
    if not isinstance(selection, xr.Dataset) or "score" not in selection:
        raise TypeError("selection must be a beta selection record (an xarray Dataset)")
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=figsize or (9.0, 3.4), layout="constrained")
    else:
        axes = axes_list(ax, 2)
        if axes is None:
            raise ValueError(f"ax must be one Axes or a sequence of two, got {ax!r}")
        fig = axes[0].figure
    betas = selection["beta"].values
    score = selection["score"].values
    chosen = float(selection.attrs.get("chosen_beta", betas[int(np.nanargmin(score))]))
    criterion = selection.attrs.get("criterion", "criterion")
    label = _LABELS.get(criterion, criterion)
    first = axes[0]
    shown = np.isfinite(score)  # a beta culled before min_epochs has no best epoch
    first.plot(betas[shown], score[shown], "o-", color="C0")
    if "link_score" in selection:  # link="auto": each link's criterion at each beta
        for j, link in enumerate(selection["link"].values):
            values = selection["link_score"].values[:, j]
            ok = np.isfinite(values)
            first.plot(betas[ok], values[ok], "x" if j else "+", color=f"C{j + 1}",
                       markersize=8, label=f"link {link}")  # fmt: skip
    pick = np.isclose(betas, chosen)
    link = selection.attrs.get("chosen_link")
    first.plot(
        betas[pick], score[pick], "o", color="C3", markersize=10,
        label=f"kept: beta {chosen:g}" + (f", link {link}" if link else ""),
    )  # fmt: skip
    first.set_xscale("log", base=2)
    first.set_xlabel("beta")
    first.set_ylabel(label)
    first.set_title("criterion at each beta's best epoch")
    first.legend(fontsize="small")
    if len(axes) > 1 and "curve" in selection:
        second = axes[1]
        for k, beta in enumerate(betas):
            curve = selection["curve"].values[k]
            ok = np.isfinite(curve)
            style = "-" if np.isclose(beta, chosen) else "--"
            culled = int(selection["culled_at"].values[k]) if "culled_at" in selection else -1
            name = (
                f"beta {beta:g}"
                + (f", {selection['kept_link'].values[k]}" if "kept_link" in selection else "")
                + (f" (culled at {culled})" if culled >= 0 else "")
            )
            second.plot(selection["epoch"].values[ok], curve[ok], style, color=f"C{k}",
                        label=name)  # fmt: skip
            best = int(selection["best_epoch"].values[k]) if "best_epoch" in selection else -1
            if best >= 0:
                second.plot(best, curve[best], "o", color=f"C{k}", markersize=4)
        finite = selection["curve"].values[np.isfinite(selection["curve"].values)]
        if finite.size:  # the first epochs dwarf the rest: show where the betas differ
            low, high = np.quantile(finite, [0.0, 0.6])
            second.set_ylim(low - 0.05 * (high - low), high)
        second.set_xlabel("epoch")
        second.set_title("criterion over epochs (dots: best epochs)")
        second.legend(fontsize="small", ncol=2)
    return fig
