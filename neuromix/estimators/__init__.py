"""The user-facing estimators.

:class:`MultimodalVAE` is the scikit-learn-style estimator over paired arrays;
:class:`NeuralModel` (built by :func:`fit`) fits one to windows of several subjects'
recordings and gives its results as xarray. Both register themselves for
:func:`neuromix.load`.
"""

from neuromix.estimators.neural import NeuralModel, fit
from neuromix.estimators.vae import MultimodalVAE

__all__ = ["MultimodalVAE", "NeuralModel", "fit"]
