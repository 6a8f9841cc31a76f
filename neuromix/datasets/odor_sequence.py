r"""Simulated rats of the hippocampal odor-sequence task, on the real trial structure.

The odor-sequence memory task (Allen et al. 2016; Shahbaba et al. 2022) was done by five
rats whose CA1 recordings are the neural example of the MMVM VAE paper. Their spike arrays
are not shipped with neuromix, but the per-trial behavioural records are (package data,
``neuromix/datasets/_data``). This module

- reads those records (:func:`load_trial_info`);
- simulates spike trains of the five rats on exactly those trials, from one shared
  odor-dependent latent trajectory read out differently by each rat
  (:func:`simulate_odor_sequence`), so that "do the rats share a latent space?" has a
  known answer;
- writes the simulated rats to one NWB file each (:func:`write_odor_sequence_nwb`).
"""

from __future__ import annotations

import importlib.resources
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import xarray as xr

from neuromix.data.recording import Recording
from neuromix.data.trial_info import ODORS, trial_table

__all__ = ["load_trial_info", "simulate_odor_sequence", "write_odor_sequence_nwb"]


@dataclass(frozen=True)
class _Rat:
    """Published facts about one rat of the data set."""

    name: str  # canonical subject name
    file_stem: str  # stem of the package-data file
    n_units: int  # neurons of the published recording
    window_start: float  # start of the paper's 16 windows, s after odor onset


# Order of the paper (and of the seed streams: rat i always gets stream i + 1).
_RATS = (
    _Rat("Barat", "Barat", 92, 0.25),
    _Rat("Buchanan", "Buchanan", 79, 0.25),
    _Rat("Mitt", "Mitt", 104, 0.5),
    _Rat("Stella", "Stella", 49, 0.5),
    _Rat("SuperChris", "Superchris", 46, 0.25),
)
_BY_KEY = MappingProxyType({rat.name.lower(): rat for rat in _RATS})
_VALID_NAMES = ", ".join(repr(rat.name) for rat in _RATS)

# Fixed constants of the generative model (documented in simulate_odor_sequence).
_EPOCH = 2.0  # analysis epoch after odor onset, s (the published 2 s post-onset epoch)
_LATENT_STEP = 0.01  # grid of the latent trajectory, s
_N_LATENT = round(_EPOCH / _LATENT_STEP) + 1  # 0, 0.01, ..., 2.0 s
_TAU_ENVELOPE = 0.2  # peak time of the response envelope, s
_LATENCY_LEAD = 0.1  # latency = window_start - lead puts the envelope peak in the window
_AMPLITUDE_SD = 0.3  # sd of log trial amplitude
_WARP_SD = 0.1  # sd of log time-warp of the envelope (timing jitter)
_TAU_NOISE = 0.1  # correlation time of the latent noise process, s
_BASELINE_MEDIAN = 3.0  # median baseline rate across units, Hz
_BASELINE_SD = 0.7  # sd of log baseline rate across units
_BASELINE_RANGE = (0.2, 40.0)  # clip of baseline rates, Hz
_SEGMENT = 5  # grid steps per thinning segment (50 ms)
_TRIAL_CHUNK = 64  # trials per block when bounding the log-rate


def _rat(subject: object) -> _Rat:
    """The rat named ``subject`` (case-insensitive), or a ValueError naming the valid ones."""
    if not isinstance(subject, str):
        raise TypeError(f"subject must be a string, got {type(subject).__name__}")
    try:
        return _BY_KEY[subject.lower()]
    except KeyError:
        raise ValueError(
            f"unknown subject {subject!r}; valid subjects are {_VALID_NAMES}"
        ) from None


def load_trial_info(subject: str) -> pd.DataFrame:
    """Real trial table of one rat of the odor-sequence experiment.

    Parameters
    ----------
    subject : str
        One of ``"Barat"``, ``"Buchanan"``, ``"Mitt"``, ``"Stella"``, ``"SuperChris"``
        (case-insensitive; ``"Superchris"``, the spelling of the data files, works too).

    Returns
    -------
    pandas.DataFrame
        One row per trial, in the order of the session, indexed by ``trial``, with the
        label columns of :func:`neuromix.data.trial_info.trial_table` (``correct``,
        ``in_sequence``, ``position``, ``odor``, ``sequence_number``, ``poke_duration``,
        ``transposition_distance``, ``item_distance``). There are no ``start_time`` or
        ``stop_time`` columns: the published records hold no absolute times.

    Raises
    ------
    ValueError
        If ``subject`` is not one of the five rats.

    Examples
    --------
    >>> from neuromix.datasets import load_trial_info
    >>> trials = load_trial_info("Barat")
    >>> len(trials)
    176
    >>> trials["odor"].value_counts().sort_index().tolist()
    [54, 36, 27, 36, 23]
    >>> len(load_trial_info("superchris"))
    240
    """
    rat = _rat(subject)
    resource = importlib.resources.files("neuromix.datasets").joinpath(
        "_data", f"{rat.file_stem}_trial_info.npy"
    )
    with resource.open("rb") as handle:
        info = np.load(handle, allow_pickle=False)
    return trial_table(info)


def _subjects(subjects: str | Iterable[str] | None) -> tuple[_Rat, ...]:
    if subjects is None:
        return _RATS
    if isinstance(subjects, str):
        subjects = [subjects]
    rats = tuple(_rat(s) for s in subjects)
    if not rats:
        raise ValueError(f"subjects is empty; choose among {_VALID_NAMES}")
    names = [rat.name for rat in rats]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"subjects lists {', '.join(duplicated)} more than once")
    return rats


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return int(value)


def _non_negative_float(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and non-negative, got {value}")
    return float(value)


def _unit_counts(
    n_units: int | Mapping[str, int] | None, rats: tuple[_Rat, ...]
) -> dict[str, int]:
    counts = {rat.name: rat.n_units for rat in rats}
    if n_units is None:
        return counts
    if isinstance(n_units, Mapping):
        for subject, count in n_units.items():
            rat, count = _rat(subject), _positive_int(count, f"n_units[{subject!r}]")
            if rat.name in counts:  # counts of rats not simulated are checked, then ignored
                counts[rat.name] = count
        return counts
    count = _positive_int(n_units, "n_units")
    return dict.fromkeys(counts, count)


def _odor_directions(latent_dim: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors u_o in latent space, one per odor A-E, shared by all rats."""
    n_odors = len(ODORS)
    if latent_dim == 1:
        return np.linspace(-1.0, 1.0, n_odors)[:, None]
    if latent_dim == 2:
        # A regular pentagon: every pair of odors is equally far apart.
        angle = np.pi / 2 + 2 * np.pi * np.arange(n_odors) / n_odors
        return np.column_stack([np.cos(angle), np.sin(angle)])
    directions = rng.standard_normal((n_odors, latent_dim))
    return directions / np.linalg.norm(directions, axis=1, keepdims=True)


def _envelope(s: np.ndarray) -> np.ndarray:
    """Alpha function g(s) = (s / tau) exp(1 - s / tau) for s > 0, 0 otherwise; peak 1 at tau."""
    x = np.maximum(s, 0.0) / _TAU_ENVELOPE
    return x * np.exp(1.0 - x)


def _latent(
    odor_codes: np.ndarray,
    directions: np.ndarray,
    latent_noise: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Latent trajectories z_k(s) on the 10 ms grid, shape (trial, time, latent)."""
    n_trials, latent_dim = len(odor_codes), directions.shape[1]
    s = np.arange(_N_LATENT) * _LATENT_STEP
    amplitude = np.exp(_AMPLITUDE_SD * rng.standard_normal(n_trials) - _AMPLITUDE_SD**2 / 2)
    warp = np.exp(_WARP_SD * rng.standard_normal(n_trials))
    # Stationary Ornstein-Uhlenbeck noise, exact AR(1) discretisation on the grid.
    rho = np.exp(-_LATENT_STEP / _TAU_NOISE)
    innovations = rng.standard_normal((_N_LATENT, n_trials, latent_dim))
    noise = np.empty_like(innovations)
    noise[0] = innovations[0]
    for i in range(1, _N_LATENT):
        noise[i] = rho * noise[i - 1] + np.sqrt(1 - rho**2) * innovations[i]
    noise = latent_noise * noise.transpose(1, 0, 2)
    envelope = _envelope(s[None, :] / warp[:, None])  # (trial, time)
    mean = amplitude[:, None] * directions[odor_codes]  # (trial, latent)
    return envelope[:, :, None] * (mean[:, None, :] + noise)


def _timeline(n_trials: int, iti: tuple[float, float], rng: np.random.Generator):
    """Odor onsets and session end: epoch + inter-trial interval between onsets."""
    intervals = _EPOCH + rng.uniform(iti[0], iti[1], size=n_trials + 1)
    bounds = np.cumsum(intervals)
    return bounds[:-1], float(bounds[-1])


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
    n_trials, n_nodes, _ = latent.shape
    # The latent acts on [t_k + L, t_k + 2): s = t - t_k - L runs over [0, s_end).
    s_end = _EPOCH - latency
    modulated_start = onsets + latency

    # Elsewhere: homogeneous Poisson at the baseline rate. Drawn on the whole session,
    # then the part falling where the latent acts is dropped (drawn below instead).
    counts = rng.poisson(rate0 * session_end)
    base_unit = np.repeat(np.arange(n_units), counts)
    base_time = rng.uniform(0.0, session_end, size=counts.sum())
    trial = np.searchsorted(modulated_start, base_time, side="right") - 1
    outside = (trial < 0) | (base_time >= modulated_start[np.maximum(trial, 0)] + s_end)
    base_unit, base_time = base_unit[outside], base_time[outside]

    # Where the latent acts: thinning per segment of _SEGMENT grid steps. The log-rate
    # w_n . z(s) is linear in z and z is piecewise linear between grid nodes, so its
    # maximum over a segment is its maximum over the segment's nodes: an exact bound,
    # and a tight one (a single bound per epoch would waste most candidates).
    n_segments = int(np.ceil(s_end / (_SEGMENT * _LATENT_STEP) - 1e-9))
    seg_start = np.arange(n_segments) * _SEGMENT * _LATENT_STEP
    seg_length = np.minimum(seg_start + _SEGMENT * _LATENT_STEP, s_end) - seg_start
    bound = np.empty((n_trials, n_segments, n_units))
    for chunk in range(0, n_trials, _TRIAL_CHUNK):  # chunks bound the memory of `drive`
        drive = latent[chunk : chunk + _TRIAL_CHUNK] @ weights.T  # (trial, node, unit)
        inner = drive[:, : n_segments * _SEGMENT].reshape(-1, n_segments, _SEGMENT, n_units)
        right = drive[:, _SEGMENT : n_segments * _SEGMENT + 1 : _SEGMENT]  # right ends
        bound[chunk : chunk + _TRIAL_CHUNK] = np.maximum(inner.max(axis=2), right)
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
    epoch_unit = cand_unit[keep]
    epoch_time = modulated_start[cand_trial[keep]] + s[keep]

    unit = np.concatenate([base_unit, epoch_unit])
    time = np.concatenate([base_time, epoch_time])
    if time_resolution is None:
        order = np.lexsort((time, unit))
        unit, time = unit[order], time[order]
    else:
        # The acquisition clock: a spike is stamped with the tick it falls in. Two spikes
        # of one unit within one tick are one spike (nothing finer is observable).
        n_ticks = int(np.ceil(session_end / time_resolution)) + 1
        ticks = np.floor(time / time_resolution).astype(np.int64)
        key = np.sort(unit.astype(np.int64) * n_ticks + ticks)
        key = key[np.concatenate([[True], key[1:] != key[:-1]])]
        unit = key // n_ticks
        time = (key % n_ticks) * time_resolution
    edges = np.searchsorted(unit, np.arange(n_units + 1))
    return [time[a:b] for a, b in itertools.pairwise(edges)]


def simulate_odor_sequence(
    seed: int = 0,
    *,
    subjects: str | Iterable[str] | None = None,
    n_units: int | Mapping[str, int] | None = None,
    n_trials: int | None = None,
    latent_dim: int = 2,
    time_resolution: float | None = 1e-3,
    gain: float = 1.0,
    latent_noise: float = 0.6,
    iti: tuple[float, float] = (1.5, 3.0),
) -> dict[str, Recording]:
    r"""Simulate the five rats of the odor-sequence task, sharing one latent space.

    Every rat gets its real trials (all rows of its published ``trial_info`` array, in
    order, with all labels) and spike trains generated from a latent trajectory that
    depends on the odor in the same way for every rat, read out by each rat's own random
    neurons. The rats therefore share a latent space exactly, while their neural spaces
    (number of neurons, tuning, response latency) all differ.

    Parameters
    ----------
    seed : int, default 0
        Seed of :class:`numpy.random.SeedSequence`. Rat *i* of the published order
        (Barat, Buchanan, Mitt, Stella, SuperChris) always uses the same child stream, so
        a rat's data do not depend on which other rats are simulated.
    subjects : str or iterable of str, optional
        Rats to simulate (case-insensitive); all five by default.
    n_units : int or mapping of str to int, optional
        Neurons per rat, overriding the published counts (Barat 92, Buchanan 79,
        Mitt 104, Stella 49, SuperChris 46): one int for all rats, or a mapping from
        subject to count (rats not in the mapping keep their published count).
    n_trials : int, optional
        Keep only the first ``n_trials`` trials of each rat (all of a rat's trials if it
        has fewer). Meant for tiny examples and tests.
    latent_dim : int, default 2
        Dimension of the shared latent space.
    time_resolution : float or None, default 1e-3
        Acquisition clock in seconds (at most 1 ms): spike times are multiples of it.
        ``None`` keeps continuous spike times.
    gain : float, default 1.0
        Standard deviation :math:`\sigma_w` of the readout weights: the signal-to-noise
        ratio of the neurons. 0 gives pure baseline firing.
    latent_noise : float, default 0.6
        Standard deviation :math:`\sigma_\epsilon` of the trial-specific noise process
        of the latent, relative to the odor mean (unit length).
    iti : (float, float), default (1.5, 3.0)
        Range of the uniform inter-trial interval in seconds, after each 2 s epoch.

    Returns
    -------
    dict of str to Recording
        One :class:`~neuromix.data.recording.Recording` per rat, keyed and named by the
        canonical subject name. Its ``trials`` hold ``start_time`` (odor onset),
        ``stop_time = start_time + 2`` and the labels of :func:`load_trial_info`
        (``poke_duration`` is kept as a label; it does not set the epoch). Its
        ``metadata`` holds

        - ``"window_start"``: start of the paper's 16 windows of 100 ms (s after onset),
          0.25 for Barat, Buchanan and SuperChris, 0.5 for Mitt and Stella;
        - ``"latency"``: the rat's response latency :math:`L_r` (s);
        - ``"latent"``: :class:`xarray.DataArray` of dims ``("trial", "time", "latent")``,
          the true shared latent :math:`z_k(s)` of every trial on a 10 ms grid of
          ``s`` from 0 to 2 s after odor onset, *before* the rat's latency shift (the
          rat's neurons follow :math:`z_k(t - L_r)`), with the trial labels as coords;
        - ``"odor_directions"``: :class:`xarray.DataArray` (``odor``, ``latent``), the
          shared :math:`u_o`;
        - ``"tuning"``: :class:`xarray.Dataset` with ``weight`` (``unit``, ``latent``)
          :math:`w_n` and ``baseline`` (``unit``) :math:`b_n` (natural log of Hz);
        - ``"session"``: ``(0.0, end)`` of the continuous recording (s), and
          ``"session_description"``;
        - ``"seed"``, and ``"source"`` = ``"simulate_odor_sequence"``.

    Raises
    ------
    ValueError, TypeError
        On an unknown subject name or an out-of-range argument; the message names it.

    See Also
    --------
    load_trial_info : the real trial tables used here.
    write_odor_sequence_nwb : write the result to one NWB file per rat.

    Notes
    -----
    **Session.** Trial :math:`k` of a rat starts (odor onset) at
    :math:`t_k = t_{k-1} + 2 + \Delta_k`, with :math:`\Delta_k \sim U(1.5, 3)` s
    (``iti``) and :math:`t_0 = 0`; the recording runs from 0 to one further interval after
    the last epoch, and spikes occur throughout (baseline firing between epochs).

    **Shared latent.** With :math:`s` the time since odor onset and :math:`o_k` the odor,

    .. math::

        z_k(s) = g(s / \kappa_k)\,\bigl(a_k\,u_{o_k} + \epsilon_k(s)\bigr),\qquad
        g(x) = \frac{x}{\tau}\,e^{1 - x/\tau}\ (x > 0),\ g(x) = 0\ (x \le 0),

    with :math:`\tau = 0.2` s (the envelope peaks at 1 at :math:`s = \tau`, so
    :math:`z = 0` at and before onset; :math:`g(1.6\,\mathrm{s}) < 1\,\%`), odor
    directions :math:`u_o` shared by all rats (a regular pentagon of unit vectors for
    ``latent_dim=2``; random unit vectors from the seed for ``latent_dim > 2``; -1, -0.5,
    0, 0.5, 1 for ``latent_dim=1``), trial
    amplitude :math:`\log a_k \sim N(-0.045, 0.3^2)` (mean 1), time warp
    :math:`\log \kappa_k \sim N(0, 0.1^2)` (timing jitter of about 20 ms at the peak) and
    :math:`\epsilon_k` a stationary Ornstein-Uhlenbeck process with correlation time
    0.1 s and standard deviation :math:`\sigma_\epsilon` (``latent_noise``) per dim.
    :math:`z_k` is computed on the 10 ms grid and is piecewise linear in between.

    **Rats.** Rat :math:`r` responds with latency :math:`L_r = W_r - 0.1` s, where
    :math:`W_r` is its paper window start (0.25 or 0.5 s), so the envelope peaks at
    :math:`W_r + 0.1` s and the odor information is strongest in the paper's windows
    :math:`[W_r, W_r + 0.25]`. Unit :math:`n` of rat :math:`r` fires as an inhomogeneous
    Poisson process of rate

    .. math::

        \lambda_n(t) = \exp\bigl(b_n + w_n^\top z_k(t - t_k - L_r)\bigr),\qquad
        t_k \le t < t_k + 2,

    and :math:`\lambda_n = e^{b_n}` outside the epochs, with baseline
    :math:`e^{b_n} \sim \mathrm{LogNormal}(\log 3\,\mathrm{Hz}, 0.7^2)` clipped to
    [0.2, 40] Hz and weights :math:`w_n \sim N(0, \sigma_w^2 I)` (``gain``) drawn per rat:
    every rat sees the same :math:`z` through its own random readout. Spikes are drawn
    exactly by thinning (the log-rate is piecewise linear, so its maximum over the grid
    nodes bounds it), then stamped with the tick of ``time_resolution`` they fall in.

    With the defaults, logistic regression on a 2-D PCA of one rat's flattened
    100 ms windows (10 ms bins) in its paper windows decodes odor A-D on held-out
    trials at about 65-80 % (0.67-0.79 for the five rats and seeds 0-2; chance 25 %,
    majority class at most 39 %): informative, not perfect, as the trial-to-trial
    variability of :math:`z` (not only the Poisson noise) limits it. Simulating all
    five rats at full size takes about half a second.

    Examples
    --------
    >>> from neuromix.datasets import simulate_odor_sequence
    >>> rats = simulate_odor_sequence(seed=0, subjects=["Barat", "mitt"], n_units=5, n_trials=3)
    >>> list(rats)
    ['Barat', 'Mitt']
    >>> rats["Mitt"]
    Recording(subject='Mitt', n_units=5, n_trials=3, labels=['correct', ...])
    >>> rats["Mitt"].metadata["window_start"], rats["Mitt"].metadata["latency"]
    (0.5, 0.4)
    >>> rats["Barat"].metadata["latent"].sizes
    Frozen({'trial': 3, 'time': 201, 'latent': 2})
    >>> rats["Barat"].trials[["start_time", "stop_time", "odor"]].round(2)
           start_time  stop_time odor
    trial
    1            4.92       6.92    B
    2            9.04      11.04    C
    3           13.53      15.53    D
    """
    rats = _subjects(subjects)
    units = _unit_counts(n_units, rats)
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if n_trials is not None:
        n_trials = _positive_int(n_trials, "n_trials")
    latent_dim = _positive_int(latent_dim, "latent_dim")
    if time_resolution is not None:
        time_resolution = _non_negative_float(time_resolution, "time_resolution")
        if not 0 < time_resolution <= 1e-3:
            raise ValueError(
                f"time_resolution must lie in (0, 1e-3] s or be None, got {time_resolution}"
            )
    gain = _non_negative_float(gain, "gain")
    latent_noise = _non_negative_float(latent_noise, "latent_noise")
    if not isinstance(iti, tuple | list) or len(iti) != 2:
        raise ValueError(f"iti must be a pair (low, high) in seconds, got {iti!r}")
    iti_low, iti_high = (_non_negative_float(v, "iti") for v in iti)
    if iti_low > iti_high:
        raise ValueError(f"iti must be (low, high) with low <= high, got {iti}")

    # Stream 0 is shared by all rats (odor directions); stream i + 1 belongs to rat i.
    streams = np.random.SeedSequence(int(seed)).spawn(len(_RATS) + 1)
    directions = _odor_directions(latent_dim, np.random.default_rng(streams[0]))
    odor_directions = xr.DataArray(
        directions,
        dims=("odor", "latent"),
        coords={"odor": list(ODORS), "latent": np.arange(latent_dim)},
    )
    times = np.round(np.arange(_N_LATENT) * _LATENT_STEP, 10)

    recordings = {}
    for rat in rats:
        # Separate streams for timeline, latent, tuning and spikes, so that e.g. changing
        # the number of units leaves the latent trajectories unchanged.
        timeline_rng, latent_rng, tuning_rng, spike_rng = (
            np.random.default_rng(s) for s in streams[1 + _RATS.index(rat)].spawn(4)
        )
        labels = load_trial_info(rat.name)
        if n_trials is not None:
            labels = labels.iloc[:n_trials]
        onsets, session_end = _timeline(len(labels), (iti_low, iti_high), timeline_rng)
        odor_codes = labels["odor"].map({odor: i for i, odor in enumerate(ODORS)}).to_numpy()
        latent = _latent(odor_codes, directions, latent_noise, latent_rng)

        n = units[rat.name]
        log_baseline = np.log(
            np.clip(
                _BASELINE_MEDIAN * np.exp(_BASELINE_SD * tuning_rng.standard_normal(n)),
                *_BASELINE_RANGE,
            )
        )
        weights = gain * tuning_rng.standard_normal((n, latent_dim))
        latency = round(rat.window_start - _LATENCY_LEAD, 10)
        spikes = _spike_times(
            latent,
            onsets,
            session_end,
            latency,
            weights,
            log_baseline,
            time_resolution,
            spike_rng,
        )

        trials = pd.concat(
            [
                pd.DataFrame(
                    {"start_time": onsets, "stop_time": onsets + _EPOCH}, index=labels.index
                ),
                labels,
            ],
            axis=1,
        )
        label_coords = {name: ("trial", labels[name].to_numpy()) for name in labels.columns}
        unit_ids = np.arange(n)
        metadata = {
            "source": "simulate_odor_sequence",
            "seed": int(seed),
            "window_start": rat.window_start,
            "latency": latency,
            "session": (0.0, session_end),
            "session_description": (
                f"Simulated spike trains of rat {rat.name} on its real trials of the "
                f"odor-sequence memory task (neuromix simulate_odor_sequence, seed {seed})"
            ),
            "latent": xr.DataArray(
                latent,
                dims=("trial", "time", "latent"),
                coords={
                    "trial": labels.index.to_numpy(),
                    "time": times,
                    "latent": np.arange(latent_dim),
                    **label_coords,
                },
                name="latent",
                attrs={
                    "units": "a.u.",
                    "time_units": "s",
                    "description": (
                        "true shared latent z(s), s = time since odor onset, before the "
                        f"rat's latency shift: the neurons follow z(t - {latency} s)"
                    ),
                },
            ),
            "odor_directions": odor_directions,
            "tuning": xr.Dataset(
                {
                    "weight": (("unit", "latent"), weights),
                    "baseline": ("unit", log_baseline, {"units": "log(Hz)"}),
                },
                coords={"unit": unit_ids, "latent": np.arange(latent_dim)},
            ),
        }
        recordings[rat.name] = Recording(
            subject=rat.name,
            spike_times=spikes,
            unit_ids=unit_ids,
            trials=trials,
            time_resolution=time_resolution,
            metadata=metadata,
        )
    return recordings


def write_odor_sequence_nwb(
    recordings: Mapping[str, Recording],
    directory: str | Path,
    *,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write simulated (or any) rats to one NWB file each, ``<directory>/<subject>.nwb``.

    Parameters
    ----------
    recordings : mapping of str to Recording
        For example the result of :func:`simulate_odor_sequence`.
    directory : str or path-like
        Folder of the files; created if missing.
    overwrite : bool, default False
        Replace existing files; otherwise an existing file is an error.

    Returns
    -------
    dict of str to pathlib.Path
        Path of each subject's file, keyed like ``recordings``.

    Examples
    --------
    >>> import tempfile
    >>> from neuromix.datasets import simulate_odor_sequence, write_odor_sequence_nwb
    >>> rats = simulate_odor_sequence(subjects="Stella", n_units=3, n_trials=2)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = write_odor_sequence_nwb(rats, folder)
    ...     print(paths["Stella"].name)
    Stella.nwb
    """
    # Imported here: the NWB writer pulls in pynwb/h5py, which simulating does not need.
    from neuromix.data.nwb import write_nwb

    if not isinstance(recordings, Mapping):
        raise TypeError(
            f"recordings must be a mapping of subject to Recording, got "
            f"{type(recordings).__name__}"
        )
    targets = {}
    for key, recording in recordings.items():
        if not isinstance(recording, Recording):
            raise TypeError(
                f"recordings[{key!r}] must be a Recording, got {type(recording).__name__}"
            )
        targets[key] = Path(directory) / f"{recording.subject}.nwb"
    names = [path.name for path in targets.values()]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"two recordings would be written to {', '.join(duplicated)}")
    # Check every target before writing any, so that a refusal leaves no partial set.
    existing = [str(path) for path in targets.values() if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{', '.join(existing)} already exist; pass overwrite=True to replace them"
        )
    Path(directory).mkdir(parents=True, exist_ok=True)
    return {
        key: Path(write_nwb(recordings[key], path, overwrite=overwrite))
        for key, path in targets.items()
    }
