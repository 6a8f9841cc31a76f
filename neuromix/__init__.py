"""neuromix: multimodal VAEs for neural recordings of several subjects."""

from neuromix._version import __version__

__all__ = ["__version__"]
