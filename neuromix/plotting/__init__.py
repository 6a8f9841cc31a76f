"""Figures: latent embeddings per subject, training curves, decoding and trade-offs,
response onsets.

Every function returns a matplotlib Figure and never calls ``plt.show()``; UMAP
(``pip install 'neuromix[umap]'``) is imported only when an embedding needs it.
"""

from neuromix.plotting.decoding import plot_decoding, plot_tradeoff
from neuromix.plotting.embeddings import plot_embeddings
from neuromix.plotting.onset import plot_response_onset
from neuromix.plotting.training import plot_training

__all__ = [
    "plot_decoding",
    "plot_embeddings",
    "plot_response_onset",
    "plot_tradeoff",
    "plot_training",
]
