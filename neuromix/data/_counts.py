"""The output array of counts: the smallest dtype that holds them, memory checked first."""

from __future__ import annotations

import numpy as np

from neuromix._validation import check_memory
from neuromix.data._checks import _prefix

__all__: list[str] = []


def _compact_dtype(max_count: int) -> np.dtype:
    """Smallest unsigned integer dtype holding ``max_count``."""
    for candidate in (np.uint8, np.uint16, np.uint32):
        if max_count <= np.iinfo(candidate).max:
            return np.dtype(candidate)
    return np.dtype(np.uint64)


class _Counts:
    """An output array of counts that widens itself when ``dtype="auto"``.

    Starts as uint8 (one byte per bin); when a unit needs more, the array is copied
    once into the next wider type. With an explicit dtype, a count that does not fit is
    an error rather than a silent wrap-around.
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        dtype: np.dtype | None,
        subject: str | None,
        extra_bytes: int = 0,
    ):
        self.fixed = dtype
        self.subject = subject
        dtype = np.dtype(dtype if dtype is not None else np.uint8)
        # Checked before allocating: a huge range gives a message, not a killed process.
        # ``extra_bytes``: the temporaries the caller needs beside the counts.
        self.shape = shape
        check_memory(
            _n_values(shape) * dtype.itemsize + extra_bytes,
            f"{_prefix(subject)}counts: {_describe_shape(shape)} in {dtype}",
            "bin a shorter range, use a larger bin_size, or fewer units or trials",
        )
        # np.zeros maps zeroed pages lazily: empty bins cost no work.
        self.array = np.zeros(shape, dtype=dtype)

    def make_room(self, max_count: int, unit: int) -> None:
        dtype = self.array.dtype
        if dtype.kind == "f" or max_count <= np.iinfo(dtype).max:
            return
        if self.fixed is not None:
            raise ValueError(
                f"{_prefix(self.subject)}dtype: {dtype} cannot hold a count of {max_count} "
                f"(unit {unit}); use a wider dtype or dtype='auto'"
            )
        wider = _compact_dtype(max_count)
        check_memory(
            _n_values(self.shape) * wider.itemsize,
            f"{_prefix(self.subject)}counts: unit {unit} has a count of {max_count}, so "
            f"the counts ({_describe_shape(self.shape)}) need {wider} instead of {dtype}, which",
            "bin a shorter range or fewer units or trials",
        )
        self.array = self.array.astype(wider)


def _n_values(shape: tuple[int, ...]) -> int:
    # Python ints: no int64 overflow for absurd shapes.
    n = 1
    for size in shape:
        n *= int(size)
    return n


def _describe_shape(shape: tuple[int, ...]) -> str:
    names = ("unit", "bin") if len(shape) == 2 else ("trial", "unit", "bin")
    return " x ".join(
        f"{int(n)} {name}{'' if n == 1 else 's'}" for n, name in zip(shape, names, strict=True)
    )
