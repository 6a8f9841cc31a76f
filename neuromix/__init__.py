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
from neuromix.data import Recording, bin_trials, from_arrays, from_xarray
from neuromix.datasets.odor_sequence import load_published
from neuromix.estimators import MultimodalVAE, NeuralModel, SweepResult, fit, sweep
from neuromix.evaluation.onset import response_onset
from neuromix.io.nwb import read_nwb, write_recording
from neuromix.io.persistence import load
from neuromix.io.pynapple import from_pynapple

__all__ = [
    "MultimodalVAE",
    "NeuralModel",
    "Recording",
    "SweepResult",
    "__version__",
    "bin_trials",
    "datasets",
    "fit",
    "from_arrays",
    "from_pynapple",
    "from_xarray",
    "load",
    "load_published",
    "models",
    "read_nwb",
    "response_onset",
    "sweep",
    "write_recording",
]
