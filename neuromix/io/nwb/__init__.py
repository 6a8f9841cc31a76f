"""NWB files: read and write recordings, and write latents back into them.

- :mod:`neuromix.io.nwb.read`: :func:`read_nwb` (lazy spike times, :class:`NWBSpikeTimes`);
- :mod:`neuromix.io.nwb.write`: :func:`write_recording`;
- :mod:`neuromix.io.nwb.export`: :func:`write_latents` (what
  :meth:`neuromix.NeuralModel.to_nwb` calls).
"""

from neuromix.io.nwb._layout import MODULE_NAME
from neuromix.io.nwb.export import write_latents
from neuromix.io.nwb.read import NWBSpikeTimes, read_nwb
from neuromix.io.nwb.write import write_recording

__all__ = [
    "MODULE_NAME",
    "NWBSpikeTimes",
    "read_nwb",
    "write_latents",
    "write_recording",
]
