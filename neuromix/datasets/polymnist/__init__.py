"""Translated PolyMNIST (paper appendix B.4), generated offline, and the published PolyMNIST files.

PolyMNIST (Sutter et al. 2021) shows one digit class in ``M`` modalities, each on its own
natural background. Its three modules:

- :mod:`~neuromix.datasets.polymnist.translated` generates translated PolyMNIST on
  demand (:class:`TranslatedPolyMNIST`, :func:`translated_polymnist`);
- :mod:`~neuromix.datasets.polymnist.backgrounds` loads the offline background images
  (:data:`BACKGROUNDS`, :func:`load_background`);
- :mod:`~neuromix.datasets.polymnist.published` reads the published files of the MoPoE
  release (:class:`PolyMNISTFolder`, :func:`load_polymnist`).

Every public name is importable from this package.
"""

from neuromix.datasets.polymnist.backgrounds import BACKGROUNDS, load_background
from neuromix.datasets.polymnist.published import PolyMNISTFolder, load_polymnist
from neuromix.datasets.polymnist.translated import TranslatedPolyMNIST, translated_polymnist

__all__ = [
    "BACKGROUNDS",
    "PolyMNISTFolder",
    "TranslatedPolyMNIST",
    "load_background",
    "load_polymnist",
    "translated_polymnist",
]
