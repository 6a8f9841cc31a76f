"""Deprecated: moved to :mod:`neuromix.estimators` (:mod:`neuromix.estimators.neural`).

This alias is kept for one release; use ``neuromix.fit`` and ``neuromix.NeuralModel``
(or ``neuromix.estimators``).
"""

import warnings

from neuromix.estimators.neural import NeuralModel, fit

__all__ = ["NeuralModel", "fit"]

warnings.warn(
    "neuromix.recordings is deprecated and will be removed in the next release; "
    "use neuromix.fit and neuromix.NeuralModel (or neuromix.estimators)",
    DeprecationWarning,
    stacklevel=2,
)
