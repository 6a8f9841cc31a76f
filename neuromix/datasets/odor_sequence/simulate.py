r"""Simulated rats of the hippocampal odor-sequence task, on the real trial structure.

The odor-sequence memory task (Allen et al. 2016; Shahbaba et al. 2022) was done by five
rats whose CA1 recordings are the neural example of the MMVM VAE paper. Their spike arrays
are not shipped with neuromix, but the per-trial behavioural records are (see
:func:`~neuromix.datasets.odor_sequence.load_trial_info`). :func:`simulate_odor_sequence`
simulates spike trains of the five rats on exactly those trials, from one shared
odor-dependent latent trajectory read out differently by each rat, so that "do the rats
share a latent space?" has a known answer.

The steps: check the arguments (:func:`_options`), draw the shared odor directions, then
per rat its session timeline and latent (:mod:`.latent`), its neurons and spikes
(:mod:`.spikes`), and assemble the :class:`~neuromix.data.Recording`
(:func:`_simulate_rat`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from neuromix.data.recording import Recording
from neuromix.datasets.odor_sequence.latent import (
    _EPOCH,
    _LATENCY_LEAD,
    _latent,
    _latent_times,
    _odor_directions,
    _timeline,
)
from neuromix.datasets.odor_sequence.spikes import _spike_times, _tuning
from neuromix.datasets.odor_sequence.trials import (
    _RATS,
    ODORS,
    _Rat,
    _rat,
    _subjects,
    load_trial_info,
)

__all__ = ["simulate_odor_sequence"]


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
    """Neurons per simulated rat: the published counts, or ``n_units`` overriding them."""
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


@dataclass(frozen=True)
class _Options:
    """Checked arguments of :func:`simulate_odor_sequence` shared by every rat."""

    seed: int
    n_trials: int | None
    latent_dim: int
    time_resolution: float | None
    gain: float
    latent_noise: float
    iti: tuple[float, float]


def _options(
    seed: object,
    n_trials: object,
    latent_dim: object,
    time_resolution: object,
    gain: object,
    latent_noise: object,
    iti: object,
) -> _Options:
    """Check the arguments of :func:`simulate_odor_sequence`; the message names the bad one."""
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
    return _Options(
        seed=int(seed),
        n_trials=n_trials,
        latent_dim=latent_dim,
        time_resolution=time_resolution,
        gain=gain,
        latent_noise=latent_noise,
        iti=(iti_low, iti_high),
    )


def _rat_streams(stream: np.random.SeedSequence) -> tuple[np.random.Generator, ...]:
    """Generators of one rat: timeline, latent, tuning and spikes.

    Separate streams, so that e.g. changing the number of units leaves the latent
    trajectories unchanged.
    """
    return tuple(np.random.default_rng(s) for s in stream.spawn(4))


def _rat_labels(rat: _Rat, n_trials: int | None) -> pd.DataFrame:
    """The rat's real trial labels, cut to the first ``n_trials``."""
    labels = load_trial_info(rat.name)
    if n_trials is not None:
        labels = labels.iloc[:n_trials]
    return labels


def _trials(labels: pd.DataFrame, onsets: np.ndarray) -> pd.DataFrame:
    """Trial table of a simulated rat: start (odor onset), stop and the labels."""
    times = pd.DataFrame({"start_time": onsets, "stop_time": onsets + _EPOCH}, index=labels.index)
    return pd.concat([times, labels], axis=1)


def _latent_array(latent: np.ndarray, labels: pd.DataFrame, latency: float) -> xr.DataArray:
    """The true latent of a rat as a DataArray (trial, time, latent) with label coords."""
    label_coords = {name: ("trial", labels[name].to_numpy()) for name in labels.columns}
    return xr.DataArray(
        latent,
        dims=("trial", "time", "latent"),
        coords={
            "trial": labels.index.to_numpy(),
            "time": _latent_times(),
            "latent": np.arange(latent.shape[2]),
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
    )


def _tuning_dataset(weights: np.ndarray, log_baseline: np.ndarray) -> xr.Dataset:
    """The readout weights w_n and log baselines b_n of a rat's units."""
    return xr.Dataset(
        {
            "weight": (("unit", "latent"), weights),
            "baseline": ("unit", log_baseline, {"units": "log(Hz)"}),
        },
        coords={"unit": np.arange(len(weights)), "latent": np.arange(weights.shape[1])},
    )


def _simulate_rat(
    rat: _Rat,
    n_units: int,
    directions: np.ndarray,
    odor_directions: xr.DataArray,
    stream: np.random.SeedSequence,
    options: _Options,
) -> Recording:
    """One simulated rat: timeline, latent, tuning, spikes, then the Recording."""
    timeline_rng, latent_rng, tuning_rng, spike_rng = _rat_streams(stream)
    labels = _rat_labels(rat, options.n_trials)
    onsets, session_end = _timeline(len(labels), options.iti, timeline_rng)
    odor_codes = labels["odor"].map({odor: i for i, odor in enumerate(ODORS)}).to_numpy()
    latent = _latent(odor_codes, directions, options.latent_noise, latent_rng)
    log_baseline, weights = _tuning(n_units, options.latent_dim, options.gain, tuning_rng)
    latency = round(rat.window_start - _LATENCY_LEAD, 10)
    spikes = _spike_times(
        latent,
        onsets,
        session_end,
        latency,
        weights,
        log_baseline,
        options.time_resolution,
        spike_rng,
    )
    metadata = {
        "source": "simulate_odor_sequence",
        "seed": options.seed,
        "window_start": rat.window_start,
        "latency": latency,
        "session": (0.0, session_end),
        "session_description": (
            f"Simulated spike trains of rat {rat.name} on its real trials of the "
            f"odor-sequence memory task (neuromix simulate_odor_sequence, seed {options.seed})"
        ),
        "latent": _latent_array(latent, labels, latency),
        "odor_directions": odor_directions,
        "tuning": _tuning_dataset(weights, log_baseline),
    }
    return Recording(
        subject=rat.name,
        spike_times=spikes,
        unit_ids=np.arange(n_units),
        trials=_trials(labels, onsets),
        time_resolution=options.time_resolution,
        metadata=metadata,
    )


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
    options = _options(seed, n_trials, latent_dim, time_resolution, gain, latent_noise, iti)
    # Stream 0 is shared by all rats (odor directions); stream i + 1 belongs to rat i.
    streams = np.random.SeedSequence(options.seed).spawn(len(_RATS) + 1)
    directions = _odor_directions(options.latent_dim, np.random.default_rng(streams[0]))
    odor_directions = xr.DataArray(
        directions,
        dims=("odor", "latent"),
        coords={"odor": list(ODORS), "latent": np.arange(options.latent_dim)},
    )
    return {
        rat.name: _simulate_rat(
            rat,
            units[rat.name],
            directions,
            odor_directions,
            streams[1 + _RATS.index(rat)],
            options,
        )
        for rat in rats
    }
