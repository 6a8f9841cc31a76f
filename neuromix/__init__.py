"""neuromix: multimodal VAEs for neural recordings of several subjects.

Each subject (a rat, a mouse, a patient) is one modality of a multimodal VAE; the core
is the MMVM VAE of "Unity by Diversity" (Sutter, Meng et al. 2024) with the paper's
baselines (independent VAEs, AVG, PoE, MoE, MoPoE).

Examples
--------
>>> import neuromix as nm
>>> nm.models.available()
('independent', 'avg', 'poe', 'moe', 'mopoe', 'mmvm')
"""

from neuromix import datasets, models
from neuromix._version import __version__
from neuromix.io.persistence import load
from neuromix.training.estimator import MultimodalVAE

__all__ = ["MultimodalVAE", "__version__", "datasets", "load", "models"]
