"""Spikes of the simulated rats: each rat's neurons (tuning) and their Poisson spike trains.

Unit n fires at rate exp(b_n + w_n . z(s)) where the latent acts and exp(b_n) elsewhere
(see :func:`~neuromix.datasets.odor_sequence.simulate_odor_sequence`). Spikes are drawn
exactly: homogeneous Poisson outside the epochs, thinning inside them.
"""

from __future__ import annotations

import itertools

import numpy as np

from neuromix.datasets.odor_sequence.latent import _EPOCH, _LATENT_STEP

__all__: list[str] = []

_BASELINE_MEDIAN = 3.0  # median baseline rate across units, Hz
_BASELINE_SD = 0.7  # sd of log baseline rate across units
_BASELINE_RANGE = (0.2, 40.0)  # clip of baseline rates, Hz
_SEGMENT = 5  # grid steps per thinning segment (50 ms)
_TRIAL_CHUNK = 64  # trials per block when bounding the log-rate


def _tuning(
    n_units: int, latent_dim: int, gain: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Log baseline rates b_n (natural log of Hz) and readout weights w_n of one rat."""
    # Baselines first, then weights: the order fixes the random stream.
    log_baseline = np.log(
        np.clip(
            _BASELINE_MEDIAN * np.exp(_BASELINE_SD * rng.standard_normal(n_units)),
            *_BASELINE_RANGE,
        )
    )
    weights = gain * rng.standard_normal((n_units, latent_dim))
    return log_baseline, weights


def _baseline_spikes(
    rate0: np.ndarray,
    modulated_start: np.ndarray,
    s_end: float,
    session_end: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(unit, time) of the homogeneous baseline spikes outside the modulated epochs.

    Drawn on the whole session, then the part falling where the latent acts,
    ``[modulated_start, modulated_start + s_end)``, is dropped (drawn by thinning instead).
    """
    n_units = len(rate0)
    counts = rng.poisson(rate0 * session_end)
    unit = np.repeat(np.arange(n_units), counts)
    time = rng.uniform(0.0, session_end, size=counts.sum())
    trial = np.searchsorted(modulated_start, time, side="right") - 1
    outside = (trial < 0) | (time >= modulated_start[np.maximum(trial, 0)] + s_end)
    return unit[outside], time[outside]


def _segments(s_end: float) -> tuple[np.ndarray, np.ndarray]:
    """Start and length (s) of the thinning segments of _SEGMENT grid steps over [0, s_end)."""
    n_segments = int(np.ceil(s_end / (_SEGMENT * _LATENT_STEP) - 1e-9))
    seg_start = np.arange(n_segments) * _SEGMENT * _LATENT_STEP
    seg_length = np.minimum(seg_start + _SEGMENT * _LATENT_STEP, s_end) - seg_start
    return seg_start, seg_length


def _log_rate_bound(latent: np.ndarray, weights: np.ndarray, n_segments: int) -> np.ndarray:
    """Maximum of w_n . z(s) over each segment, shape (trial, segment, unit).

    The log-rate is linear in z and z is piecewise linear between grid nodes, so its
    maximum over a segment is its maximum over the segment's nodes: an exact bound, and a
    tight one (a single bound per epoch would waste most candidates).
    """
    n_trials, n_units = latent.shape[0], len(weights)
    bound = np.empty((n_trials, n_segments, n_units))
    for chunk in range(0, n_trials, _TRIAL_CHUNK):  # chunks bound the memory of `drive`
        drive = latent[chunk : chunk + _TRIAL_CHUNK] @ weights.T  # (trial, node, unit)
        inner = drive[:, : n_segments * _SEGMENT].reshape(-1, n_segments, _SEGMENT, n_units)
        right = drive[:, _SEGMENT : n_segments * _SEGMENT + 1 : _SEGMENT]  # right ends
        bound[chunk : chunk + _TRIAL_CHUNK] = np.maximum(inner.max(axis=2), right)
    return bound


def _thinned_spikes(
    latent: np.ndarray,
    rate0: np.ndarray,
    weights: np.ndarray,
    modulated_start: np.ndarray,
    s_end: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(unit, time) of the spikes where the latent acts, by thinning per segment."""
    n_nodes = latent.shape[1]
    seg_start, seg_length = _segments(s_end)
    bound = _log_rate_bound(latent, weights, len(seg_start))
    counts = rng.poisson(rate0 * np.exp(bound) * seg_length[:, None])
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    cand_trial, cand_segment, cand_unit = np.unravel_index(flat, counts.shape)
    s = seg_start[cand_segment] + seg_length[cand_segment] * rng.uniform(size=flat.size)
    # z at the candidate times, by linear interpolation of the grid.
    position = s / _LATENT_STEP
    node = np.minimum(position.astype(np.intp), n_nodes - 2)
    frac = (position - node)[:, None]
    z = (1 - frac) * latent[cand_trial, node] + frac * latent[cand_trial, node + 1]
    log_accept = np.einsum("ij,ij->i", z, weights[cand_unit]) - bound.ravel()[flat]
    keep = rng.uniform(size=flat.size) < np.exp(log_accept)
    return cand_unit[keep], modulated_start[cand_trial[keep]] + s[keep]


def _stamp(
    unit: np.ndarray, time: np.ndarray, session_end: float, time_resolution: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Spikes sorted by unit then time; with a clock, stamped with the tick they fall in.

    Two spikes of one unit within one tick are one spike (nothing finer is observable).
    """
    if time_resolution is None:
        order = np.lexsort((time, unit))
        return unit[order], time[order]
    n_ticks = int(np.ceil(session_end / time_resolution)) + 1
    ticks = np.floor(time / time_resolution).astype(np.int64)
    key = np.sort(unit.astype(np.int64) * n_ticks + ticks)
    key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    return key // n_ticks, (key % n_ticks) * time_resolution


def _spike_times(
    latent: np.ndarray,
    onsets: np.ndarray,
    session_end: float,
    latency: float,
    weights: np.ndarray,
    log_baseline: np.ndarray,
    time_resolution: float | None,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Poisson spikes of every unit: exact thinning where z acts, homogeneous elsewhere."""
    n_units = len(weights)
    rate0 = np.exp(log_baseline)
    # The latent acts on [t_k + L, t_k + 2): s = t - t_k - L runs over [0, s_end).
    s_end = _EPOCH - latency
    modulated_start = onsets + latency
    # Baseline spikes first, then thinned ones: the order fixes the random stream.
    base_unit, base_time = _baseline_spikes(rate0, modulated_start, s_end, session_end, rng)
    epoch_unit, epoch_time = _thinned_spikes(latent, rate0, weights, modulated_start, s_end, rng)
    unit, time = _stamp(
        np.concatenate([base_unit, epoch_unit]),
        np.concatenate([base_time, epoch_time]),
        session_end,
        time_resolution,
    )
    edges = np.searchsorted(unit, np.arange(n_units + 1))
    return [time[a:b] for a, b in itertools.pairwise(edges)]
