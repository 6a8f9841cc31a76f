"""Character-level text codes for the text modalities of bimodal CelebA and CUB.

The MoPoE code (Sutter et al. 2021) one-hot encodes strings over a fixed alphabet of
lowercase letters, digits, punctuation and space, and leaves characters outside it as
all-zero rows. Here every string becomes a row of integer codes of fixed length
``max_len`` over a vocabulary of two special symbols followed by the alphabet:

=========  ==========================================================================
index      symbol
=========  ==========================================================================
0          padding (``PAD``): fills a code row after the end of the string
1          unknown (``UNKNOWN``): a character that is not in the alphabet
2, 3, ...  the characters of the alphabet, in order
=========  ==========================================================================

A categorical decoder then predicts one of ``vocabulary_size(alphabet)`` symbols at each
position, and the padding and unknown positions are ordinary classes rather than
silent zero rows.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from neuromix.datasets._checks import check_integer

__all__ = [
    "ALPHABET",
    "PAD",
    "UNKNOWN",
    "decode_text",
    "encode_text",
    "one_hot",
    "vocabulary_size",
]

#: Lowercase letters, digits, space and the punctuation of the character-level CNN
#: alphabet (Zhang et al. 2015) that the MoPoE text modalities use; 69 characters.
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789 -,;.!?:'\"/\\|_@#$%^&*~`+=<>()[]{}"

#: Code of the padding symbol.
PAD = 0
#: Code of a character that is not in the alphabet.
UNKNOWN = 1
_N_SPECIAL = 2
# What decode_text prints for an unknown code: U+FFFD cannot be confused with any
# character of an alphabet made of ASCII.
_UNKNOWN_CHAR = "\ufffd"


def _check_alphabet(alphabet: str) -> str:
    if not isinstance(alphabet, str) or not alphabet:
        raise ValueError(f"alphabet must be a non-empty string, got {alphabet!r}")
    if len(set(alphabet)) != len(alphabet):
        repeated = sorted({c for c in alphabet if alphabet.count(c) > 1})
        raise ValueError(f"alphabet has repeated characters: {repeated}")
    return alphabet


def _check_range(codes: np.ndarray, n_symbols: int, caller: str) -> None:
    if codes.size and (codes.min() < 0 or codes.max() >= n_symbols):
        raise ValueError(
            f"{caller}: codes must lie in [0, {n_symbols}), got range "
            f"[{codes.min()}, {codes.max()}]"
        )


def vocabulary_size(alphabet: str = ALPHABET) -> int:
    """Number of symbols (padding, unknown and the alphabet) that codes can take.

    Parameters
    ----------
    alphabet : str
        The characters of the alphabet.

    Returns
    -------
    int
        ``len(alphabet) + 2``.

    Examples
    --------
    >>> vocabulary_size()
    71
    >>> vocabulary_size("ab")
    4
    """
    return len(_check_alphabet(alphabet)) + _N_SPECIAL


def encode_text(
    strings: str | Iterable[str],
    *,
    max_len: int,
    alphabet: str = ALPHABET,
    lowercase: bool = True,
    unknown: str = "replace",
) -> np.ndarray:
    """Turn strings into rows of character codes of fixed length.

    Parameters
    ----------
    strings : str or iterable of str
        The strings; a single string is treated as a list of one.
    max_len : int
        Length of every code row. Longer strings are cut to their first ``max_len``
        characters; shorter rows are filled with ``PAD``.
    alphabet : str
        The characters that get their own code (``2 + position in alphabet``).
    lowercase : bool
        Lowercase the strings first (the default alphabet has no capitals).
    unknown : {"replace", "error"}
        What to do with a character outside the alphabet: code it as ``UNKNOWN``, or
        raise ``ValueError``.

    Returns
    -------
    numpy.ndarray of int64, shape (n_strings, max_len)

    Examples
    --------
    >>> encode_text(["ab", "b?"], max_len=4, alphabet="ab")
    array([[2, 3, 0, 0],
           [3, 1, 0, 0]])
    >>> decode_text(encode_text("Blond Hair", max_len=16))
    ['blond hair']
    """
    alphabet = _check_alphabet(alphabet)
    if unknown not in ("replace", "error"):
        raise ValueError(f"unknown must be 'replace' or 'error', got {unknown!r}")
    check_integer("max_len", max_len, 1)
    if isinstance(strings, str):
        strings = [strings]
    strings = list(strings)
    # A lookup table over code points makes encoding one vectorised gather per string.
    table_size = max(max(map(ord, alphabet)) + 1, 128)
    table = np.full(table_size, UNKNOWN, dtype=np.int64)
    table[[ord(c) for c in alphabet]] = np.arange(_N_SPECIAL, _N_SPECIAL + len(alphabet))
    codes = np.full((len(strings), max_len), PAD, dtype=np.int64)
    for row, string in enumerate(strings):
        if not isinstance(string, str):
            raise TypeError(f"encode_text: item {row} is {type(string).__name__}, not str")
        text = string.lower() if lowercase else string
        text = text[:max_len]
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        inside = points < table_size
        row_codes = np.full(points.shape, UNKNOWN, dtype=np.int64)
        row_codes[inside] = table[points[inside]]
        if unknown == "error" and np.any(row_codes == UNKNOWN):
            bad = sorted({c for c in text if c not in alphabet})
            raise ValueError(f"encode_text: string {row} has characters not in alphabet: {bad}")
        codes[row, : len(row_codes)] = row_codes
    return codes


def decode_text(codes: np.ndarray, *, alphabet: str = ALPHABET) -> list[str]:
    """Turn code rows (or one-hot / score arrays) back into strings.

    Parameters
    ----------
    codes : array_like
        Integer codes of shape (n, max_len) or (max_len,); or scores of shape
        (n, max_len, n_symbols), decoded by their argmax over the last axis (for
        example the logits of a text decoder).
    alphabet : str
        The alphabet the codes were made with.

    Returns
    -------
    list of str
        One string per row; padding is dropped and unknown codes print as U+FFFD.

    Examples
    --------
    >>> decode_text([[2, 1, 3, 0]], alphabet="ab")
    ['a\\ufffdb']
    >>> decode_text(one_hot(encode_text("hi", max_len=3), vocabulary_size()))
    ['hi']
    """
    alphabet = _check_alphabet(alphabet)
    codes = np.asarray(codes)
    if codes.ndim == 3:
        codes = codes.argmax(axis=-1)
    if codes.ndim == 1:
        codes = codes[None, :]
    if codes.ndim != 2 or not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(
            f"decode_text: expected integer codes of shape (n, max_len) or scores of shape "
            f"(n, max_len, n_symbols), got dtype {codes.dtype} and shape {codes.shape}"
        )
    n_symbols = len(alphabet) + _N_SPECIAL
    _check_range(codes, n_symbols, "decode_text")
    symbols = np.array(["", _UNKNOWN_CHAR, *alphabet], dtype=object)
    return ["".join(row) for row in symbols[codes]]


def one_hot(codes: np.ndarray, n_symbols: int | None = None) -> np.ndarray:
    """One-hot encode integer codes along a new last axis.

    Parameters
    ----------
    codes : array_like of int
        Codes of any shape, each in ``[0, n_symbols)``.
    n_symbols : int, optional
        Size of the new axis; default ``vocabulary_size(ALPHABET)``.

    Returns
    -------
    numpy.ndarray of float32, shape ``codes.shape + (n_symbols,)``

    Examples
    --------
    >>> one_hot([[0, 2]], 3)
    array([[[1., 0., 0.],
            [0., 0., 1.]]], dtype=float32)
    """
    if n_symbols is None:
        n_symbols = vocabulary_size(ALPHABET)
    codes = np.asarray(codes)
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"one_hot: codes must be integers, got dtype {codes.dtype}")
    _check_range(codes, n_symbols, "one_hot")
    return np.eye(n_symbols, dtype=np.float32)[codes]
