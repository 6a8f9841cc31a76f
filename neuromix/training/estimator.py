"""Deprecated: moved to :mod:`neuromix.estimators` (:mod:`neuromix.estimators.vae`).

This alias is kept for one release; use ``neuromix.MultimodalVAE`` (or
``neuromix.estimators``).
"""

import warnings

from neuromix.estimators.vae import MultimodalVAE

__all__ = ["MultimodalVAE"]

warnings.warn(
    "neuromix.training.estimator is deprecated and will be removed in the next release; "
    "use neuromix.MultimodalVAE (or neuromix.estimators.MultimodalVAE)",
    DeprecationWarning,
    stacklevel=2,
)
