"""The user-facing estimators.

:class:`MultimodalVAE` is the scikit-learn-style estimator over paired arrays;
:class:`NeuralModel` (built by :func:`fit`) fits one to windows of several subjects'
recordings and gives its results as xarray. Both register themselves for
:func:`neuromix.load`. :func:`sweep` fits one method over a grid of parameters, the models
of one network shape trained together (:mod:`neuromix.estimators.sweeps`).
"""

from neuromix.estimators.neural import NeuralModel, fit
from neuromix.estimators.sweeps import SweepResult, sweep
from neuromix.estimators.vae import MultimodalVAE

__all__ = ["MultimodalVAE", "NeuralModel", "SweepResult", "fit", "sweep"]
