"""Figures: latent embeddings per subject, condition trajectories, training curves,
decoding and trade-offs, cross-subject prediction, individuality maps, response onsets,
real and generated PSTHs.

Every function returns a matplotlib Figure and never calls ``plt.show()``; UMAP
(``pip install 'neuromix[umap]'``) is imported only when an embedding needs it.
"""

from neuromix.plotting.decoding import plot_decoding, plot_tradeoff
from neuromix.plotting.embeddings import plot_embeddings
from neuromix.plotting.individuality import plot_individuality
from neuromix.plotting.onset import plot_response_onset
from neuromix.plotting.prediction import plot_cross_prediction
from neuromix.plotting.psth import generated_windows, plot_psth, window_psth
from neuromix.plotting.selection import plot_beta_selection
from neuromix.plotting.training import plot_training
from neuromix.plotting.trajectories import condition_trajectories, plot_trajectories

__all__ = [
    "condition_trajectories",
    "generated_windows",
    "plot_beta_selection",
    "plot_cross_prediction",
    "plot_decoding",
    "plot_embeddings",
    "plot_individuality",
    "plot_psth",
    "plot_response_onset",
    "plot_tradeoff",
    "plot_training",
    "plot_trajectories",
    "window_psth",
]
