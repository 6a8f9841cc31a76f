"""The published PolyMNIST files (the MoPoE release of Sutter et al. 2021), read on demand."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from neuromix.datasets.mnist import _index_array
from neuromix.datasets.polymnist._layout import _SIZE, _SPLIT_CODES

__all__ = ["PolyMNISTFolder", "load_polymnist"]

_POLY_FILE = re.compile(r"^(\d+)\.(\d+)\.png$")


class PolyMNISTFolder:
    """The published PolyMNIST files, read on demand.

    Layout of the MoPoE release (Sutter et al. 2021): ``root/{train,test}/m{k}/`` holds
    one PNG per tuple named ``"{i}.{digit}.png"``, where ``i`` counts the tuples of that
    digit (so ``0.3.png`` and ``0.7.png`` both exist) and the same name in every modality
    folder belongs to the same tuple. Tuples are ordered by ``(i, digit)``, which
    interleaves the classes.

    Parameters
    ----------
    root : str or os.PathLike
        Folder that holds ``train`` and ``test``.
    split : {"train", "test"}
    modalities : sequence of str, optional
        Modality folders to read, e.g. ``["m0", "m1", "m2"]``; default every ``m<k>``
        folder of the split, in order of ``k``.

    Attributes
    ----------
    modality_names : tuple of str
    file_names : tuple of str
        The file name of every tuple.
    labels : numpy.ndarray of int64, shape (n,)

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for m in ("m0", "m1"):
    ...     (root / "test" / m).mkdir(parents=True)
    ...     for name in ("0.4.png", "0.9.png", "1.4.png"):
    ...         Image.new("RGB", (28, 28), (255, 0, 0)).save(root / "test" / m / name)
    >>> folder = PolyMNISTFolder(root, "test")
    >>> len(folder), folder.file_names, folder.labels.tolist()
    (3, ('0.4.png', '0.9.png', '1.4.png'), [4, 9, 4])
    >>> images, labels = folder[0]
    >>> images["m1"].shape, images["m1"][:, 0, 0].tolist(), labels
    ((3, 28, 28), [1.0, 0.0, 0.0], 4)
    """

    def __init__(self, root, split: str = "train", *, modalities=None):
        if split not in _SPLIT_CODES:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.root = Path(root)
        self.split = split
        split_dir = self.root / split
        if not split_dir.is_dir():
            raise FileNotFoundError(f"PolyMNIST split folder not found: {split_dir}")
        if modalities is None:
            found = [
                p.name for p in split_dir.iterdir() if p.is_dir() and re.fullmatch(r"m\d+", p.name)
            ]
            if not found:
                raise FileNotFoundError(f"no modality folders m0, m1, ... in {split_dir}")
            modalities = sorted(found, key=lambda name: int(name[1:]))
        self.modality_names = tuple(modalities)
        if not self.modality_names:
            raise ValueError("modalities must name at least one modality folder")

        names = {}
        for modality in self.modality_names:
            folder = split_dir / modality
            if not folder.is_dir():
                raise FileNotFoundError(f"PolyMNIST modality folder not found: {folder}")
            pngs = {p.name for p in folder.iterdir() if p.suffix == ".png"}
            bad = sorted(name for name in pngs if not _POLY_FILE.match(name))
            if bad:
                raise ValueError(
                    f"{folder}: file names must be '<index>.<digit>.png', got {bad[:3]}"
                )
            if not pngs:
                raise FileNotFoundError(f"no PNG files in {folder}")
            names[modality] = pngs
        reference = names[self.modality_names[0]]
        for modality in self.modality_names[1:]:
            if names[modality] != reference:
                only_first = sorted(reference - names[modality])[:3]
                only_this = sorted(names[modality] - reference)[:3]
                raise ValueError(
                    f"modalities {self.modality_names[0]} and {modality} hold different "
                    f"files: e.g. only in {self.modality_names[0]}: {only_first}, only in "
                    f"{modality}: {only_this}"
                )
        keys = sorted(
            (int(i), int(d)) for i, d in (_POLY_FILE.match(x).groups() for x in reference)
        )
        self.file_names = tuple(f"{i}.{d}.png" for i, d in keys)
        self.labels = np.array([d for _, d in keys], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.file_names)

    def __getitem__(self, index):
        """Images (float32 in [0, 1], shape (n_index, 3, 28, 28)) and labels of ``index``."""
        from PIL import Image

        indices, scalar = _index_array(index, len(self))
        images = {}
        for modality in self.modality_names:
            folder = self.root / self.split / modality
            arrays = []
            for i in indices:
                with Image.open(folder / self.file_names[i]) as image:
                    arrays.append(np.asarray(image.convert("RGB")))
            shapes = {a.shape for a in arrays}
            if len(shapes) > 1:
                raise ValueError(f"{folder}: images of different sizes {sorted(shapes)}")
            stack = np.stack(arrays) if arrays else np.empty((0, _SIZE, _SIZE, 3), np.uint8)
            images[modality] = stack.transpose(0, 3, 1, 2).astype(np.float32) / 255
        if scalar:
            return {m: a[0] for m, a in images.items()}, int(self.labels[indices[0]])
        return images, self.labels[indices]


def load_polymnist(
    root, split: str = "train", *, modalities=None, n: int | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Load published PolyMNIST files into memory (see `PolyMNISTFolder` for the layout).

    Parameters
    ----------
    root : str or os.PathLike
        Folder holding ``train/m0/...`` and ``test/m0/...``.
    split : {"train", "test"}
    modalities : sequence of str, optional
        Modality folders to read; default all ``m<k>`` folders.
    n : int, optional
        Read only the first ``n`` tuples (ordered by index, then digit).

    Returns
    -------
    images : dict of str to numpy.ndarray
        Modality name to float32 arrays (n, 3, 28, 28) in [0, 1].
    labels : numpy.ndarray of int64, shape (n,)

    Raises
    ------
    FileNotFoundError
        For a missing root, split or modality folder, or an empty modality folder.
    ValueError
        For a bad split name, file names not of the form ``<index>.<digit>.png``, or
        modality folders holding different file names.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for m in ("m0", "m1", "m2"):
    ...     (root / "train" / m).mkdir(parents=True)
    ...     for name in ("0.1.png", "0.2.png"):
    ...         Image.new("RGB", (28, 28)).save(root / "train" / m / name)
    >>> images, labels = load_polymnist(root, modalities=["m0", "m2"])
    >>> sorted(images), images["m2"].shape, labels.tolist()
    (['m0', 'm2'], (2, 3, 28, 28), [1, 2])
    """
    folder = PolyMNISTFolder(root, split, modalities=modalities)
    if n is None:
        return folder[:]
    return folder[: int(n)]
