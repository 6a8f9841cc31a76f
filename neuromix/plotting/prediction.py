"""Cross-subject prediction in bits per spike, beside the cross-subject decoding."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import xarray as xr

from neuromix.plotting._axes import axes_list
from neuromix.plotting.decoding import plot_decoding

__all__ = ["plot_cross_prediction"]


def plot_cross_prediction(prediction: xr.Dataset, decoding: xr.Dataset | None = None, *,
                          ax=None, figsize=None):  # fmt: skip
    """Bits per spike of each target predicted from each source, as a heatmap.

    Row ``i``, column ``j``: subject ``j``'s held-out counts predicted from subject
    ``i``'s held-out trials of the same condition, in bits per spike over each unit's
    mean rate (0: no better than the mean rates; the diagonal is each subject's
    reconstruction from its own latent, and the colour scale is that of the
    off-diagonal and the PSTH ceilings, so the diagonal saturates). Below each column,
    the target's condition-mean PSTH ceiling, when given. With ``decoding``
    (``NeuralModel.decode()``), its transfer matrix is drawn beside, on the left.

    Parameters
    ----------
    prediction : xarray.Dataset
        As returned by :meth:`neuromix.NeuralModel.cross_prediction`.
    decoding : xarray.Dataset, optional
    ax : Axes, or two Axes with ``decoding``
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> names = ["Barat", "Mitt"]
    >>> pred = xr.Dataset(
    ...     {"bits_per_spike": (("source_rat", "target_rat"), [[0.3, 0.1], [0.12, 0.25]]),
    ...      "psth": ("target_rat", [0.15, 0.14])},
    ...     coords={"source_rat": names, "target_rat": names})
    >>> fig = plot_cross_prediction(pred)
    >>> fig.axes[0].get_xticklabels()[0].get_text()
    'Barat\\nPSTH 0.15'
    >>> plt.close(fig)
    """
    if not isinstance(prediction, xr.Dataset) or "bits_per_spike" not in prediction:
        raise TypeError(
            "prediction must be the xarray.Dataset of NeuralModel.cross_prediction() "
            "(with a 'bits_per_spike' variable)"
        )
    source_dim, target_dim = prediction["bits_per_spike"].dims
    n_axes = 2 if decoding is not None else 1
    if ax is None:
        n = prediction.sizes[target_dim]
        size = figsize or (n_axes * (1.6 * n + 2.5), max(3.6, 0.8 * n + 2.0))
        fig, axes = plt.subplots(1, n_axes, figsize=size, layout="constrained")
        axes = list(np.atleast_1d(axes))
    else:
        axes = axes_list(ax, n_axes)
        if axes is None or len(axes) != n_axes:
            raise ValueError(f"ax must be {n_axes} Axes (one per panel), got {ax!r}")
        fig = axes[0].figure
    if decoding is not None:
        plot_decoding(decoding, ax=axes[0])
    heat = axes[-1]
    matrix = np.asarray(prediction["bits_per_spike"].values, dtype=float)
    names = [str(v) for v in prediction[target_dim].values]
    labels = names
    if "psth" in prediction:
        labels = [f"{n}\nPSTH {v:.2f}" for n, v in zip(names, prediction["psth"].values,
                                                     strict=True)]  # fmt: skip
    # the scale of the off-diagonal and of the PSTH ceilings: the diagonal (each trial
    # from its own latent, which has seen that trial's noise) saturates
    off = matrix[~np.eye(*matrix.shape, dtype=bool)] if matrix.shape[0] > 1 else matrix
    ceiling = np.asarray(prediction["psth"].values) if "psth" in prediction else np.array([])
    scale = np.abs(np.concatenate([off.ravel(), ceiling.ravel()]))
    high = float(np.nanmax(scale)) if np.isfinite(scale).any() else 1.0
    sns.heatmap(
        matrix, ax=heat, annot=True, fmt=".2f", square=True, cmap="RdBu_r", center=0.0,
        vmin=-high, vmax=high, xticklabels=labels,
        yticklabels=[str(v) for v in prediction[source_dim].values],
        cbar_kws={"label": "bits per spike", "shrink": 0.8},
    )  # fmt: skip
    heat.tick_params(axis="x", labelrotation=0, labelsize="small")
    heat.tick_params(axis="y", labelrotation=0)
    heat.set_xlabel(f"predicted ({target_dim.removeprefix('target_')})")
    heat.set_ylabel(f"from the latent of ({source_dim.removeprefix('source_')})")
    heat.set_title("cross-subject prediction, bits per spike")
    return fig
