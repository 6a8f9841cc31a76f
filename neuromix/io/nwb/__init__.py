"""NWB files: read and write recordings, and write latents back into them.

- :mod:`neuromix.io.nwb.read`: :func:`read_nwb` (lazy spike times, :class:`NWBSpikeTimes`);
- :mod:`neuromix.io.nwb.write`: :func:`write_recording`;
- :mod:`neuromix.io.nwb.export`: :func:`write_latents` (what
  :meth:`neuromix.NeuralModel.to_nwb` calls).
"""

import warnings

from neuromix.io.nwb._layout import MODULE_NAME
from neuromix.io.nwb.export import write_latents
from neuromix.io.nwb.read import NWBSpikeTimes, read_nwb
from neuromix.io.nwb.write import write_nwb as write_nwb  # deprecated: write_recording
from neuromix.io.nwb.write import write_recording

__all__ = [
    "MODULE_NAME",
    "NWBSpikeTimes",
    "read_nwb",
    "write_latents",
    "write_recording",
]


def _export_latents(model, paths=None, *, out_dir=None, overwrite=False):
    """Deprecated: use ``model.to_nwb(paths, out_dir=..., overwrite=...)``."""
    if not callable(getattr(model, "to_nwb", None)) or isinstance(model, type):
        raise TypeError(f"model: expected a fitted NeuralModel, got {type(model).__name__}")
    return model.to_nwb(paths, out_dir=out_dir, overwrite=overwrite)


def __getattr__(name: str):
    # neuromix.io.nwb was a module whose export_latents took the model; kept one release.
    if name == "export_latents":
        warnings.warn(
            "neuromix.io.nwb.export_latents is deprecated and will be removed in the next "
            "release; use model.to_nwb(...), or neuromix.io.nwb.write_latents with the "
            "latents",
            DeprecationWarning,
            stacklevel=2,
        )
        return _export_latents
    raise AttributeError(f"module 'neuromix.io.nwb' has no attribute {name!r}")
