"""CUB image-captions (Reed et al. 2016 captions of Caltech-UCSD Birds, as used by Shi et al.
2019 and Daunhawer et al. 2022): bird images paired with human-written captions.

Files read
----------
``root/images/<class folder>/<name>.jpg``
    The bird images; class folders are named ``<3-digit class>.<Name>``
    (``001.Black_footed_Albatross``).
``root/text/<class folder>/<name>.txt``
    The captions of the image, one per line (10 per image in the release).
``root/{train,test}/filenames.txt``
    The images of the split, one ``<class folder>/<name>`` per line (a ``.jpg`` ending
    is allowed).

The split lists of the original release are Python pickles (``filenames.pickle``), which
this loader does not open: unpickling runs arbitrary code. If you trust your copy,
convert it once with::

    python -c "import pickle, sys; names = pickle.load(open(sys.argv[1], 'rb'), \\
        encoding='latin1'); open(sys.argv[2], 'w').write('\\n'.join(names) + '\\n')" \\
        train/filenames.pickle train/filenames.txt

(and the same for ``test``). In that release the split is by class: the 150 training
classes (8,855 images) and the 50 test classes (2,933 images) do not overlap, so the
class labels returned here cannot be used for a linear probe across splits.

Images are resized to ``image_size`` x ``image_size`` (without cropping, as in Shi et
al.). Captions are coded at character level with `neuromix.datasets.text`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from neuromix.datasets.celeba import _image_text_batch, _image_text_options
from neuromix.datasets.mnist import _index_array
from neuromix.datasets.text import ALPHABET

__all__ = ["CUBBatch", "CUBDataset", "load_cub"]

_SPLITS = ("train", "test")
_CAPTIONS = ("one", "all")


class CUBBatch(NamedTuple):
    """Images, caption codes and class labels of some CUB items."""

    #: float32 in [0, 1], shape (n, 3, image_size, image_size).
    images: np.ndarray
    #: int64 character codes, shape (n, max_len).
    text: np.ndarray
    #: int64 class index, shape (n,): the class folder number minus 1 (0-199).
    labels: np.ndarray


class CUBDataset:
    """One split of CUB image-captions, read on demand (see the module documentation).

    Built by `load_cub`; the parameters are documented there.

    Attributes
    ----------
    names : tuple of str
        ``<class folder>/<name>`` of every image of the split, in split-file order.
    labels : numpy.ndarray of int64, shape (len(self),)
        Class index of every item.
    class_names : dict of int to str
        Class index to class folder name, for the classes of the split.

    With ``captions="one"`` an item is an image with one of its captions, picked at random
    from ``(seed, position of the image in the split file)``; with ``captions="all"`` an
    item is one (image, caption) pair, image by image. Indexing with an int, a slice or
    an integer array returns a `CUBBatch` (without the leading axis for an int).
    """

    def __init__(
        self,
        root,
        split: str = "train",
        *,
        image_size: int = 64,
        max_len: int = 128,
        captions: str = "one",
        seed: int = 0,
        alphabet: str = ALPHABET,
    ):
        if split not in _SPLITS:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if captions not in _CAPTIONS:
            raise ValueError(f"captions must be 'one' or 'all', got {captions!r}")
        _image_text_options(self, "CUB", root, split, image_size, max_len, seed, alphabet)
        self.captions = captions

        list_path = self.root / split / "filenames.txt"
        if not list_path.is_file():
            pickle_path = list_path.with_suffix(".pickle")
            hint = (
                f"; {pickle_path} exists: convert it to text as the documentation of "
                "neuromix.datasets.cub shows"
                if pickle_path.is_file()
                else ""
            )
            raise FileNotFoundError(f"CUB split list not found: {list_path}{hint}")
        names = []
        for line in list_path.read_text().splitlines():
            entry = line.strip().removesuffix(".jpg")
            if not entry:
                continue
            if entry.count("/") != 1:
                raise ValueError(
                    f"{list_path}: entries must read '<class folder>/<name>', got {entry!r}"
                )
            names.append(entry)
        if not names:
            raise ValueError(f"{list_path} lists no images")
        self.names = tuple(names)

        image_labels = []
        self.class_names = {}
        for entry in names:
            folder = entry.split("/")[0]
            prefix = folder.split(".")[0]
            if not prefix.isdigit():
                raise ValueError(
                    f"{list_path}: class folder {folder!r} does not start with "
                    "'<number>.' (as in '001.Black_footed_Albatross')"
                )
            image_labels.append(int(prefix) - 1)
            self.class_names[int(prefix) - 1] = folder
        image_labels = np.array(image_labels, dtype=np.int64)

        for kind, suffix in (("images", ".jpg"), ("text", ".txt")):
            missing = [n for n in names if not (self.root / kind / (n + suffix)).is_file()]
            if missing:
                raise FileNotFoundError(
                    f"{len(missing)} {kind} files of split {split!r} missing under "
                    f"{self.root / kind}, e.g. {[m + suffix for m in missing[:3]]}"
                )

        if captions == "all":
            counts = np.array([len(self._captions(i)) for i in range(len(names))])
            self._image = np.repeat(np.arange(len(names)), counts)
            self._caption = np.arange(len(self._image)) - np.repeat(
                np.cumsum(counts) - counts, counts
            )
        else:
            self._image = np.arange(len(names))
            self._caption = None
        self.labels = image_labels[self._image]

    def _captions(self, image: int) -> list[str]:
        path = self.root / "text" / (self.names[image] + ".txt")
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if line]
        if not lines:
            raise ValueError(f"{path} holds no caption")
        return lines

    def __len__(self) -> int:
        return len(self._image)

    def text(self, index) -> list[str]:
        """The captions of items ``index`` (a list, even for one index)."""
        indices, _ = _index_array(index, len(self))
        texts = []
        for i in indices:
            image = int(self._image[i])
            lines = self._captions(image)
            if self._caption is None:
                choice = np.random.default_rng([self.seed, image]).integers(len(lines))
            else:
                choice = self._caption[i]
            texts.append(lines[choice])
        return texts

    def __getitem__(self, index) -> CUBBatch:
        return _image_text_batch(
            self,
            index,
            CUBBatch,
            lambda i: self.root / "images" / (self.names[self._image[i]] + ".jpg"),
            self.labels,
        )


def load_cub(root, split: str = "train", **options) -> CUBDataset:
    """CUB image-captions: bird images and captions, read on demand from the release files.

    Parameters
    ----------
    root : str or os.PathLike
        Folder holding ``images/``, ``text/`` and ``{train,test}/filenames.txt``.
    split : {"train", "test"}
    image_size : int, default 64
        Side of the square output images (64 in the paper).
    max_len : int, default 128
        Length of the caption codes; longer captions are cut (CUB captions are mostly
        under 128 characters).
    captions : {"one", "all"}, default "one"
        One seeded random caption per image, or every (image, caption) pair as an item.
    seed : int, default 0
        Seed of the caption choice with ``captions="one"``.
    alphabet : str, default ALPHABET
        Alphabet of the caption codes.

    Returns
    -------
    CUBDataset
        Indexing gives a `CUBBatch` ``(images, text, labels)``.

    Raises
    ------
    FileNotFoundError
        For a missing root, split list (with a hint when only the pickle exists), image
        or caption file.
    ValueError
        For a bad split or captions value, or a malformed split list.

    Notes
    -----
    ``load_cub(root, split, **options)`` is ``CUBDataset(root, split, **options)``: the
    options are keyword-only and have the defaults of `CUBDataset`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> names = ["001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111",
    ...          "017.Cardinal/Cardinal_0001_17057"]
    >>> for name in names:
    ...     for kind in ("images", "text"):
    ...         (root / kind / name).parent.mkdir(parents=True, exist_ok=True)
    ...     Image.new("RGB", (500, 375), (180, 30, 30)).save(root / "images" / f"{name}.jpg")
    ...     _ = (root / "text" / f"{name}.txt").write_text("a red bird.\\nit has a beak.\\n")
    >>> (root / "train").mkdir()
    >>> _ = (root / "train" / "filenames.txt").write_text("\\n".join(names))
    >>> data = load_cub(root, image_size=32, max_len=20)
    >>> len(data), data.labels.tolist(), data.class_names[16]
    (2, [0, 16], '017.Cardinal')
    >>> batch = data[:]
    >>> batch.images.shape, batch.text.shape
    ((2, 3, 32, 32), (2, 20))
    >>> every = load_cub(root, captions="all")
    >>> len(every), every.text([0, 1])
    (4, ['a red bird.', 'it has a beak.'])
    """
    return CUBDataset(root, split, **options)
