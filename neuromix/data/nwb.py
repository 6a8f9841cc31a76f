"""Deprecated: moved to :mod:`neuromix.io.nwb`.

Reading and writing NWB files belongs to :mod:`neuromix.io`, which owns every file
format; :mod:`neuromix.data` is format-free. This alias is kept for one release.
"""

import warnings

from neuromix.io.nwb.read import NWBSpikeTimes, read_nwb
from neuromix.io.nwb.write import DEFAULT_SPECIES, write_nwb

__all__ = ["DEFAULT_SPECIES", "NWBSpikeTimes", "read_nwb", "write_nwb"]

warnings.warn(
    "neuromix.data.nwb is deprecated and will be removed in the next release; use "
    "neuromix.read_nwb / neuromix.write_recording or neuromix.io.nwb",
    DeprecationWarning,
    stacklevel=2,
)
