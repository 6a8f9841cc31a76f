"""Deprecated: moved to :mod:`neuromix.datasets.odor_sequence.published`.

The loader of the rat odor-sequence layout belongs to that experiment. This alias is kept
for one release.
"""

import warnings

from neuromix.datasets.odor_sequence.published import (  # noqa: F401
    PUBLISHED_BIN_SIZE,
    PUBLISHED_ONSET_BIN,
    PUBLISHED_SAMPLE,
    load_published,
)

__all__ = ["load_published"]

warnings.warn(
    "neuromix.data.published is deprecated and will be removed in the next release; "
    "use neuromix.load_published or neuromix.datasets.odor_sequence.load_published",
    DeprecationWarning,
    stacklevel=2,
)
