"""The offline background images of translated PolyMNIST, one per modality.

Offline images of scikit-image (``skimage.data``) and scikit-learn
(``load_sample_image``), made RGB (grey ones repeated on three channels). The default
five, in modality order: ``immunohistochemistry`` (stained tissue), ``chelsea`` (cat
fur), ``coffee`` (cup on wood), ``china`` (temple, sky, trees), ``flower`` (dahlia on
dark leaves). More modalities take, in order: ``astronaut``, ``rocket``,
``hubble_deep_field``, ``retina``, ``brick``, ``grass``, ``gravel``.
"""

from __future__ import annotations

import numpy as np

from neuromix.datasets.polymnist._layout import _SIZE

__all__ = ["BACKGROUNDS", "load_background"]

#: Names of the offline background images, in the order modalities take them.
BACKGROUNDS = (
    "immunohistochemistry",
    "chelsea",
    "coffee",
    "china",
    "flower",
    "astronaut",
    "rocket",
    "hubble_deep_field",
    "retina",
    "brick",
    "grass",
    "gravel",
)
_SKLEARN_IMAGES = {"china": "china.jpg", "flower": "flower.jpg"}


def load_background(name: str) -> np.ndarray:
    """One of the offline background images, as uint8 RGB.

    Parameters
    ----------
    name : str
        One of `BACKGROUNDS`.

    Returns
    -------
    numpy.ndarray of uint8, shape (height, width, 3)

    Examples
    --------
    >>> load_background("coffee").shape
    (400, 600, 3)
    >>> load_background("brick").shape  # a grey texture, repeated on 3 channels
    (512, 512, 3)
    """
    if name not in BACKGROUNDS:
        raise ValueError(f"unknown background {name!r}; choose from {', '.join(BACKGROUNDS)}")
    if name in _SKLEARN_IMAGES:
        from sklearn.datasets import load_sample_image

        return _as_rgb(load_sample_image(_SKLEARN_IMAGES[name]), name)
    import skimage.data

    return _as_rgb(getattr(skimage.data, name)(), name)


def _as_rgb(image, what: str) -> np.ndarray:
    """Any grey, RGB or RGBA image (uint8, bool or float in [0, 1]) as uint8 (H, W, 3)."""
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif np.issubdtype(image.dtype, np.floating):
        if image.size and (np.nanmin(image) < 0 or np.nanmax(image) > 1):
            raise ValueError(f"background {what}: float images must lie in [0, 1]")
        image = np.round(image * 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"background {what}: dtype {image.dtype}, expected uint8 or float")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"background {what}: expected shape (height, width[, 3 or 4]), got {image.shape}"
        )
    if image.shape[0] < _SIZE or image.shape[1] < _SIZE:
        raise ValueError(
            f"background {what}: {image.shape[0]}x{image.shape[1]} is smaller than "
            f"the {_SIZE}x{_SIZE} patches cut from it"
        )
    return np.ascontiguousarray(image)
