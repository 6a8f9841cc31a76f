"""The shared latent process of the simulated rats: session timeline and trajectories z_k(s).

The model is documented in :func:`~neuromix.datasets.odor_sequence.simulate_odor_sequence`;
this module holds its constants and the draws that do not depend on a rat's neurons.
"""

from __future__ import annotations

import numpy as np

from neuromix.datasets.odor_sequence.trials import ODORS

__all__: list[str] = []

# Fixed constants of the generative model (documented in simulate_odor_sequence).
_EPOCH = 2.0  # analysis epoch after odor onset, s (the published 2 s post-onset epoch)
_LATENT_STEP = 0.01  # grid of the latent trajectory, s
_N_LATENT = round(_EPOCH / _LATENT_STEP) + 1  # 0, 0.01, ..., 2.0 s
_TAU_ENVELOPE = 0.2  # peak time of the response envelope, s
_LATENCY_LEAD = 0.1  # latency = window_start - lead puts the envelope peak in the window
_AMPLITUDE_SD = 0.3  # sd of log trial amplitude
_WARP_SD = 0.1  # sd of log time-warp of the envelope (timing jitter)
_TAU_NOISE = 0.1  # correlation time of the latent noise process, s


def _latent_times() -> np.ndarray:
    """The 10 ms grid of s (time since odor onset) on which z is computed, 0 to 2 s."""
    return np.round(np.arange(_N_LATENT) * _LATENT_STEP, 10)


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


def _ou_noise(n_trials: int, latent_dim: int, rng: np.random.Generator) -> np.ndarray:
    """Unit stationary Ornstein-Uhlenbeck noise on the grid, shape (time, trial, latent).

    Exact AR(1) discretisation: eps_i = rho eps_{i-1} + sqrt(1 - rho^2) xi_i.
    """
    rho = np.exp(-_LATENT_STEP / _TAU_NOISE)
    innovations = rng.standard_normal((_N_LATENT, n_trials, latent_dim))
    noise = np.empty_like(innovations)
    noise[0] = innovations[0]
    for i in range(1, _N_LATENT):
        noise[i] = rho * noise[i - 1] + np.sqrt(1 - rho**2) * innovations[i]
    return noise


def _latent(
    odor_codes: np.ndarray,
    directions: np.ndarray,
    latent_noise: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Latent trajectories z_k(s) on the 10 ms grid, shape (trial, time, latent)."""
    n_trials, latent_dim = len(odor_codes), directions.shape[1]
    s = np.arange(_N_LATENT) * _LATENT_STEP
    # Draw order (amplitude, warp, noise) fixes the random stream: do not reorder.
    amplitude = np.exp(_AMPLITUDE_SD * rng.standard_normal(n_trials) - _AMPLITUDE_SD**2 / 2)
    warp = np.exp(_WARP_SD * rng.standard_normal(n_trials))
    noise = latent_noise * _ou_noise(n_trials, latent_dim, rng).transpose(1, 0, 2)
    envelope = _envelope(s[None, :] / warp[:, None])  # (trial, time)
    mean = amplitude[:, None] * directions[odor_codes]  # (trial, latent)
    return envelope[:, :, None] * (mean[:, None, :] + noise)


def _timeline(
    n_trials: int, iti: tuple[float, float], rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """Odor onsets and session end: epoch + inter-trial interval between onsets."""
    intervals = _EPOCH + rng.uniform(iti[0], iti[1], size=n_trials + 1)
    bounds = np.cumsum(intervals)
    return bounds[:-1], float(bounds[-1])
