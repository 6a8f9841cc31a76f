"""Deprecated: moved to :mod:`neuromix.datasets.odor_sequence.trials`.

The trial tables of the rat odor-sequence experiment belong to that experiment. This alias
is kept for one release.
"""

import warnings

from neuromix.datasets.odor_sequence.trials import ODORS, trial_table

__all__ = ["ODORS", "trial_table"]

warnings.warn(
    "neuromix.data.trial_info is deprecated and will be removed in the next release; "
    "use neuromix.datasets.odor_sequence.trial_table",
    DeprecationWarning,
    stacklevel=2,
)
