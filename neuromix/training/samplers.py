"""Samplers: where the training loop's batches come from.

A sampler yields the batches of one epoch as ``(xs, mask)``: ``xs`` a list over
subjects of tensors already on the training device, ``mask`` a ``(batch, subject)``
bool tensor or None (all present). Data stay in device tensors; batches are cut by
index, never through a per-sample Python loop or a ``DataLoader``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

__all__ = ["ArraySampler", "Sampler", "WindowSampler"]

Batch = tuple[list[Tensor], Tensor | None]


class Sampler(Protocol):
    """Anything that yields one epoch of batches."""

    def __len__(self) -> int:
        """Number of samples in the next epoch."""

    def batches(
        self, batch_size: int, *, shuffle: bool, generator: torch.Generator | None, epoch: int
    ) -> Iterator[Batch]:
        """Batches of one epoch."""


def _order(n: int, shuffle: bool, generator, device) -> Tensor:
    # randperm on the CPU generator, then moved: the order does not depend on the device
    if shuffle:
        return torch.randperm(n, generator=generator).to(device)
    return torch.arange(n, device=device)


class ArraySampler:
    """Paired rows of in-memory tensors, one per subject, all on the device.

    Parameters
    ----------
    tensors : sequence of Tensor
        ``tensors[m]`` has shape ``(n, *shape_m)``; row i of every tensor is one paired
        sample.
    """

    def __init__(self, tensors: Sequence[Tensor]):
        self.tensors = list(tensors)
        self.n = self.tensors[0].shape[0]

    def __len__(self) -> int:
        return self.n

    def batches(self, batch_size, *, shuffle, generator=None, epoch=0):
        order = _order(self.n, shuffle, generator, self.tensors[0].device)
        for start in range(0, self.n, batch_size):
            idx = order[start : start + batch_size]
            yield [t.index_select(0, idx) for t in self.tensors], None


class WindowSampler:
    """Paired windows cut on the fly from every subject's binned counts.

    A sample is one tuple of trials (one per subject, paired by condition) and one
    window index k: subject m contributes its window k of its trial in the tuple,
    flattened neuron-major (all lags of unit 0, then unit 1, ...). Only the batch is
    ever materialised: windows are gathered from an ``unfold`` view of the counts.

    Parameters
    ----------
    counts : sequence of Tensor
        Per subject, counts ``(trial, unit, time)`` (any dtype, e.g. uint8) on the device,
        covering the window range of every trial.
    pairs : array of int (n_tuples, subject), or callable epoch -> such an array
        Positions (along ``trial`` of ``counts``) of the paired trials; a callable is
        asked anew every epoch (the resampling rule).
    n_windows, lag_bins, step_bins : int
        Windows per trial, bins per window, bins between window starts.
    """

    def __init__(
        self,
        counts: Sequence[Tensor],
        pairs: np.ndarray | Callable[[int], np.ndarray],
        *,
        n_windows: int,
        lag_bins: int,
        step_bins: int,
        dtype: torch.dtype = torch.float32,
    ):
        self.counts = list(counts)
        self.pairs = pairs
        self.n_windows = int(n_windows)
        self.lag_bins = int(lag_bins)
        self.step_bins = int(step_bins)
        self.dtype = dtype
        self._views = [c.unfold(2, self.lag_bins, self.step_bins) for c in self.counts]
        for view in self._views:
            if view.shape[2] < self.n_windows:
                raise ValueError("counts do not cover the requested windows")

    def _pairs(self, epoch: int) -> Tensor:
        pairs = self.pairs(epoch) if callable(self.pairs) else self.pairs
        return torch.as_tensor(np.asarray(pairs, dtype=np.int64), device=self.counts[0].device)

    def __len__(self) -> int:
        pairs = self.pairs(0) if callable(self.pairs) else self.pairs
        return len(pairs) * self.n_windows

    def gather(self, m: int, trials: Tensor, windows: Tensor) -> Tensor:
        """Subject m's windows ``windows`` of trials ``trials``: ``(n, unit * lag)``."""
        block = self._views[m][trials, :, windows]  # (n, unit, lag)
        return block.reshape(block.shape[0], -1).to(self.dtype)

    def batches(self, batch_size, *, shuffle, generator=None, epoch=0):
        pairs = self._pairs(epoch)
        n = pairs.shape[0] * self.n_windows
        order = _order(n, shuffle, generator, pairs.device)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            tuples, windows = idx // self.n_windows, idx % self.n_windows
            yield (
                [self.gather(m, pairs[tuples, m], windows) for m in range(len(self.counts))],
                None,
            )
