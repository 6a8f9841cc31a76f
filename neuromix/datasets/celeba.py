"""Bimodal CelebA (Sutter et al. 2020): face images paired with a text of their attributes.

Files read (the published CelebA layout)
----------------------------------------
``root/img_align_celeba/<id>.jpg``
    The aligned and cropped 178x218 faces.
``root/list_attr_celeba.txt``
    First line the number of images, second line the 40 attribute names, then one line
    per image: ``<file> <40 values of 1 or -1>`` (columns separated by spaces).
``root/list_eval_partition.txt``
    ``<file> <0|1|2>``: 0 train, 1 validation, 2 test.

The text modality (paper appendix B.5)
--------------------------------------
The names of the attributes an image has (value 1) are lowercased, their underscores
turned into spaces, put in random order and joined by ``", "`` (``"smiling, blond
hair, young"``); absent attributes are left out, not negated. As in the MoPoE code
(``random_text_startindex``) and the paper's Figure 13, the text starts at a random
position: it is preceded by a random number of spaces so that it still fits in
``max_len`` characters. Order and start are drawn from ``(seed, row of the image in
list_attr_celeba.txt)``, so the text of an image does not depend on the split or on
which other images are read. The text is then coded with `neuromix.datasets.text`.

Images are centre-cropped to ``crop_size`` (148, as in the MoPoE code) and resized to
``image_size`` with bilinear filtering.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from neuromix.datasets._checks import check_integer
from neuromix.datasets.mnist import _index_array
from neuromix.datasets.text import ALPHABET, encode_text

__all__ = ["CelebABatch", "CelebADataset", "load_celeba", "read_rgb_image"]

_SPLITS = {"train": 0, "val": 1, "test": 2}


class CelebABatch(NamedTuple):
    """Images, text codes and attribute labels of some CelebA images."""

    #: float32 in [0, 1], shape (n, 3, image_size, image_size).
    images: np.ndarray
    #: int64 character codes, shape (n, max_len) (see `neuromix.datasets.text`).
    text: np.ndarray
    #: uint8 0/1 matrix, shape (n, 40), columns in the order of ``attribute_names``.
    attributes: np.ndarray


def read_rgb_image(path, size: int, *, crop_size: int | None = None) -> np.ndarray:
    """Read an image file as a float32 RGB array (3, size, size) in [0, 1].

    Parameters
    ----------
    path : str or os.PathLike
    size : int
        Side of the output; the image is resized to a square with bilinear filtering.
    crop_size : int, optional
        First cut a centred square of this side (clipped to the image).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.jpg"
    >>> Image.new("RGB", (178, 218), (0, 255, 0)).save(path)
    >>> image = read_rgb_image(path, 32, crop_size=148)
    >>> image.shape, image.dtype, image[:, 0, 0].round(1).tolist()
    ((3, 32, 32), dtype('float32'), [0.0, 1.0, 0.0])
    """
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    with Image.open(path) as image:
        image = image.convert("RGB")
        if crop_size is not None:
            width, height = image.size
            side = min(crop_size, width, height)
            left, top = (width - side) // 2, (height - side) // 2
            image = image.crop((left, top, left + side, top + side))
        image = image.resize((size, size), Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.float32)
    return array.transpose(2, 0, 1) / 255


def _image_text_batch(dataset, index, batch_type, image_path, labels, *, crop_size=None):
    """``dataset[index]`` of an image-text data set (CelebA, CUB) as a ``batch_type``.

    ``batch_type`` is a named tuple ``(images, text, labels)``; ``image_path(i)`` is the
    image file of item ``i`` and ``labels`` holds the labels of every item. ``dataset``
    gives its length, ``image_size``, ``max_len``, ``alphabet`` and ``text(indices)``.
    An int ``index`` returns the fields without their leading axis.
    """
    indices, scalar = _index_array(index, len(dataset))
    size = dataset.image_size
    images = np.empty((len(indices), 3, size, size), np.float32)
    for row, i in enumerate(indices):
        images[row] = read_rgb_image(image_path(i), size, crop_size=crop_size)
    text = encode_text(dataset.text(indices), max_len=dataset.max_len, alphabet=dataset.alphabet)
    batch = batch_type(images, text, labels[indices])
    if scalar:
        return batch_type(*(a[0] for a in batch))
    return batch


def _image_text_options(dataset, what, root, split, image_size, max_len, seed, alphabet):
    """Check and set the options an image-text data set (CelebA, CUB) shares.

    Checks ``seed``, ``image_size``, ``max_len`` and that the folder ``root`` exists
    (``what`` names the data set in the error), then sets them, ``split`` and
    ``alphabet`` on ``dataset``. The caller checks ``split``: the splits differ.
    """
    check_integer("seed", seed, 0)
    check_integer("image_size", image_size, 1)
    check_integer("max_len", max_len, 1)
    dataset.root = Path(root)
    if not dataset.root.is_dir():
        raise FileNotFoundError(f"{what} root folder not found: {dataset.root}")
    dataset.split = split
    dataset.image_size = int(image_size)
    dataset.max_len = int(max_len)
    dataset.seed = int(seed)
    dataset.alphabet = alphabet


def _read_lines(path: Path, what: str) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"CelebA {what} file not found: {path}")
    return [line for line in path.read_text().splitlines() if line.strip()]


def _parse_attributes(path: Path) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    lines = _read_lines(path, "attribute")
    if len(lines) < 2:
        raise ValueError(f"{path}: expected a count line and a line of attribute names")
    try:
        count = int(lines[0].split()[0])
    except ValueError as err:
        raise ValueError(f"{path}: first line must be the number of images") from err
    names = tuple(lines[1].split())
    rows = [line.split() for line in lines[2:]]
    if len(rows) != count:
        raise ValueError(f"{path}: first line announces {count} images, found {len(rows)} rows")
    bad = next((r for r in rows if len(r) != len(names) + 1), None)
    if bad is not None:
        raise ValueError(
            f"{path}: row {bad[0]!r} has {len(bad) - 1} values for {len(names)} attributes"
        )
    files = np.array([r[0] for r in rows])
    values = np.array([r[1:] for r in rows], dtype=np.int64).reshape(len(rows), len(names))
    if not np.isin(values, (-1, 1)).all():
        raise ValueError(f"{path}: attribute values must be 1 or -1")
    return names, files, (values > 0).astype(np.uint8)


class CelebADataset:
    """One split of bimodal CelebA, read on demand (see the module documentation).

    Built by `load_celeba`; the parameters are documented there.

    Attributes
    ----------
    attribute_names : tuple of str
        The 40 names, in file order (``5_o_Clock_Shadow`` ... ``Young``).
    text_attributes : tuple of str
        The attributes that may appear in the text.
    file_names : numpy.ndarray of str, shape (n,)
    attributes : numpy.ndarray of uint8, shape (n, 40)
        1 where the image has the attribute, 0 where not.

    Indexing with an int, a slice or an integer array returns a `CelebABatch` (without
    the leading axis for an int); ``dataset[:100]`` loads the first 100 images.
    """

    def __init__(
        self,
        root,
        split: str = "train",
        *,
        image_size: int = 64,
        crop_size: int | None = 148,
        max_len: int = 256,
        attributes=None,
        seed: int = 0,
        shuffle: bool = True,
        random_start: bool = True,
        alphabet: str = ALPHABET,
    ):
        if split not in _SPLITS:
            raise ValueError(f"split must be one of {', '.join(_SPLITS)}, got {split!r}")
        _image_text_options(self, "CelebA", root, split, image_size, max_len, seed, alphabet)
        self.crop_size = crop_size
        self.shuffle = shuffle
        self.random_start = random_start

        names, files, values = _parse_attributes(self.root / "list_attr_celeba.txt")
        self.attribute_names = names
        if attributes is None:
            attributes = names
        unknown = [a for a in attributes if a not in names]
        if unknown:
            raise ValueError(f"unknown attributes {unknown}; the file names {list(names)}")
        self.text_attributes = tuple(attributes)
        self._text_columns = np.array([names.index(a) for a in attributes], dtype=np.int64)
        self._words = np.array([a.lower().replace("_", " ") for a in names], dtype=object)

        partition_path = self.root / "list_eval_partition.txt"
        partition = {}
        for line in _read_lines(partition_path, "partition"):
            parts = line.split()
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise ValueError(f"{partition_path}: expected '<file> <0|1|2>', got {line!r}")
            partition[parts[0]] = int(parts[1])
        missing = [f for f in files if f not in partition]
        if missing:
            raise ValueError(
                f"{partition_path}: no partition for {len(missing)} images, e.g. {missing[:3]}"
            )
        in_split = np.array([partition[f] == _SPLITS[split] for f in files], dtype=bool)
        self._rows = np.flatnonzero(in_split)  # rows of list_attr_celeba.txt
        self.file_names = files[in_split]
        self.attributes = values[in_split]

        self._image_dir = self.root / "img_align_celeba"
        if not self._image_dir.is_dir():
            raise FileNotFoundError(f"CelebA image folder not found: {self._image_dir}")
        present = {p.name for p in self._image_dir.iterdir()}
        absent = [f for f in self.file_names if f not in present]
        if absent:
            raise FileNotFoundError(
                f"{len(absent)} images of split {split!r} missing from {self._image_dir}, "
                f"e.g. {absent[:3]}"
            )

    def __len__(self) -> int:
        return len(self.file_names)

    def text(self, index) -> list[str]:
        """The attribute texts of images ``index`` (a list, even for one index).

        Examples
        --------
        See `load_celeba`.
        """
        indices, _ = _index_array(index, len(self))
        texts = []
        for i in indices:
            rng = np.random.default_rng([self.seed, int(self._rows[i])])
            present = self._text_columns[self.attributes[i, self._text_columns] == 1]
            if self.shuffle:
                present = rng.permutation(present)
            string = ", ".join(self._words[present])[: self.max_len]
            if self.random_start:
                string = " " * int(rng.integers(0, self.max_len - len(string) + 1)) + string
            texts.append(string)
        return texts

    def __getitem__(self, index) -> CelebABatch:
        return _image_text_batch(
            self,
            index,
            CelebABatch,
            lambda i: self._image_dir / self.file_names[i],
            self.attributes,
            crop_size=self.crop_size,
        )


def load_celeba(root, split: str = "train", **options) -> CelebADataset:
    """Bimodal CelebA: images and attribute texts, read on demand from the published files.

    The options after ``split`` are keyword-only; `CelebADataset` takes them as they are.

    Parameters
    ----------
    root : str or os.PathLike
        Folder holding ``img_align_celeba/``, ``list_attr_celeba.txt`` and
        ``list_eval_partition.txt``.
    split : {"train", "val", "test"}
        Partition 0, 1 or 2 of ``list_eval_partition.txt``.
    image_size : int, default 64
        Side of the square output images.
    crop_size : int or None, default 148
        Side of the centred square cut before resizing (148 in the MoPoE code); None
        resizes the whole image.
    max_len : int, default 256
        Length of the text codes; longer texts are cut.
    attributes : sequence of str, optional
        Attributes that may appear in the text (default all 40). The label matrix always
        has all 40 columns.
    seed : int, default 0
        Seed of the attribute order and the text start of every image.
    shuffle, random_start : bool, default True
        Random attribute order; random number of leading spaces (paper's Figure 13).
    alphabet : str, default ALPHABET
        Alphabet of the text codes.

    Returns
    -------
    CelebADataset
        ``len()`` images; indexing gives a `CelebABatch` ``(images, text, attributes)``;
        ``attribute_names`` names the columns of ``attributes``.

    Raises
    ------
    FileNotFoundError
        For a missing root, file, image folder or image of the split.
    ValueError
        For a bad split name, a malformed attribute or partition file, or an unknown
        attribute name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "img_align_celeba").mkdir()
    >>> names = ["Bald", "Blond_Hair", "Smiling"]
    >>> rows = {"000001.jpg": "1 -1 1", "000002.jpg": "-1 1 1", "000003.jpg": "-1 -1 -1"}
    >>> lines = ["3", " ".join(names)] + [f"{f} {v}" for f, v in rows.items()]
    >>> _ = (root / "list_attr_celeba.txt").write_text("\\n".join(lines))
    >>> _ = (root / "list_eval_partition.txt").write_text(
    ...     "000001.jpg 0\\n000002.jpg 0\\n000003.jpg 2\\n")
    >>> for f in rows:
    ...     Image.new("RGB", (178, 218), (200, 150, 100)).save(root / "img_align_celeba" / f)
    >>> data = load_celeba(root, image_size=32, max_len=40, random_start=False)
    >>> len(data), data.attribute_names
    (2, ('Bald', 'Blond_Hair', 'Smiling'))
    >>> sorted(data.text(0)[0].split(", "))
    ['bald', 'smiling']
    >>> batch = data[:2]
    >>> batch.images.shape, batch.text.shape, batch.attributes.tolist()
    ((2, 3, 32, 32), (2, 40), [[1, 0, 1], [0, 1, 1]])
    >>> load_celeba(root, "test", max_len=40, random_start=False).text(0)  # no attribute
    ['']
    """
    return CelebADataset(root, split, **options)
