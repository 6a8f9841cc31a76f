"""Gaussian posterior math as pure tensor functions.

Shape convention (used throughout :mod:`neuromix.models`)
-----------------------------------------------------------
``mu``, ``logvar``
    ``(batch, subject, latent)``: the diagonal-Gaussian posterior
    q_m(z | x_m) = N(mu[:, m], diag(exp(logvar[:, m]))) of every subject m.
``mask``
    ``(batch, subject)`` bool: True where subject m is present in sample b.
    Absent subjects are ignored by every aggregation and divergence; every row
    must have at least one present subject.

Results over subjects keep the subject axis (``(batch, subject)``); joint
posteriors drop it (``(batch, latent)``); mixture components use a component
axis in its place (``(batch, component, latent)``). Divergences are summed over
the latent axis.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor

__all__ = [
    "average",
    "kl_normal",
    "kl_standard_normal",
    "kl_to_mixture_mc",
    "log_normal",
    "mixture_kl_mc",
    "mixture_kl_pairwise",
    "mixture_moments",
    "product_of_experts",
    "reparameterize",
    "subsets",
]

_LOG_2PI = math.log(2.0 * math.pi)


def kl_normal(mu_q: Tensor, logvar_q: Tensor, mu_p: Tensor, logvar_p: Tensor) -> Tensor:
    """KL(N(mu_q, var_q) || N(mu_p, var_p)) of diagonal Gaussians, summed over the last axis.

    Closed form: 1/2 sum_j [logvar_p - logvar_q + (var_q + (mu_q - mu_p)^2) / var_p - 1].
    Inputs broadcast against each other.

    Examples
    --------
    >>> import torch
    >>> kl_normal(torch.zeros(3), torch.zeros(3), torch.zeros(3), torch.zeros(3))
    tensor(0.)
    """
    # exp of the difference, not a product of exps, so that a wide q against a narrow p
    # overflows only when the KL itself does
    return 0.5 * torch.sum(
        logvar_p
        - logvar_q
        + torch.exp(logvar_q - logvar_p)
        + (mu_q - mu_p) ** 2 * torch.exp(-logvar_p)
        - 1.0,
        dim=-1,
    )


def kl_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, var) || N(0, I)) summed over the last axis.

    Examples
    --------
    >>> import torch
    >>> kl_standard_normal(torch.tensor([1.0]), torch.tensor([0.0]))
    tensor(0.5000)
    """
    return 0.5 * torch.sum(torch.exp(logvar) + mu**2 - 1.0 - logvar, dim=-1)


def log_normal(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """Log density of z under N(mu, diag(exp(logvar))), summed over the last axis."""
    return -0.5 * torch.sum(_LOG_2PI + logvar + (z - mu) ** 2 * torch.exp(-logvar), dim=-1)


def reparameterize(
    mu: Tensor,
    logvar: Tensor,
    n_draws: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw z = mu + sigma * eps with eps ~ N(0, I), differentiable in mu and logvar.

    With ``n_draws`` a leading axis of draws is added: ``(n_draws, *mu.shape)``.
    """
    shape = mu.shape if n_draws is None else (n_draws, *mu.shape)
    eps = torch.randn(shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def _as_float_mask(mask: Tensor | None, like: Tensor) -> Tensor:
    if mask is None:
        return torch.ones(like.shape[:2], dtype=like.dtype, device=like.device)
    return mask.to(like.dtype)


def product_of_experts(
    mu: Tensor, logvar: Tensor, mask: Tensor | None = None, prior_expert: bool = True
) -> tuple[Tensor, Tensor]:
    """Precision-weighted product of the present subjects' Gaussians (Wu & Goodman 2018).

    precision = sum_m T_m (+ 1 for the N(0, I) expert),
    mean = sum_m T_m mu_m / precision, with T_m = 1 / var_m.

    Parameters
    ----------
    mu, logvar : Tensor of shape (batch, subject, latent)
    mask : bool Tensor of shape (batch, subject), optional
    prior_expert : bool
        Include the N(0, I) expert.

    Returns
    -------
    mu, logvar : Tensor of shape (batch, latent)

    Examples
    --------
    >>> import torch
    >>> mu = torch.tensor([[[0.0], [2.0]]]); logvar = torch.zeros(1, 2, 1)
    >>> product_of_experts(mu, logvar, prior_expert=False)
    (tensor([[1.]]), tensor([[-0.6931]]))
    """
    weight = _as_float_mask(mask, mu).unsqueeze(-1)
    precision = torch.exp(-logvar) * weight
    total = precision.sum(dim=1)
    weighted_mean = (precision * mu).sum(dim=1)
    if prior_expert:
        total = total + 1.0
    return weighted_mean / total, -torch.log(total)


def average(mu: Tensor, logvar: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Mean of the present subjects' means and of their variances (Hosoya 2018).

    AVG's joint posterior N(mean_m mu_m, mean_m sigma_m^2): the *variances* are
    averaged, as in Hosoya's code and the paper's authors' code (the log of the mean of
    exp(logvar), computed as a log-sum-exp for stability).

    Returns
    -------
    mu, logvar : Tensor of shape (batch, latent)

    Examples
    --------
    >>> import torch, math
    >>> mu = torch.tensor([[[0.0], [2.0]]])
    >>> logvar = torch.log(torch.tensor([[[1.0], [9.0]]]))  # variances 1 and 9
    >>> m, lv = average(mu, logvar)
    >>> m.item(), round(math.exp(lv.item()), 4)
    (1.0, 5.0)
    """
    weight = _as_float_mask(mask, mu).unsqueeze(-1)
    count = weight.sum(dim=1)
    mean = (mu * weight).sum(dim=1) / count
    present = weight > 0
    masked = torch.where(present, logvar, torch.full_like(logvar, -math.inf))
    return mean, torch.logsumexp(masked, dim=1) - torch.log(count)


def mixture_moments(
    mu: Tensor, logvar: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Mean and diagonal variance of the equal-weight mixture of the present Gaussians.

    mean = 1/M sum_m mu_m; var = 1/M sum_m (var_m + mu_m^2) - mean^2. Inputs
    ``(batch, component, latent)``, outputs ``(batch, latent)``.

    Examples
    --------
    >>> import torch
    >>> mu = torch.tensor([[[-1.0], [1.0]]]); logvar = torch.zeros(1, 2, 1)
    >>> m, lv = mixture_moments(mu, logvar)
    >>> m.item(), lv.exp().item()
    (0.0, 2.0)
    """
    weight = _as_float_mask(mask, mu).unsqueeze(-1)
    count = weight.sum(dim=1)
    mean = (mu * weight).sum(dim=1) / count
    second = ((torch.exp(logvar) + mu**2) * weight).sum(dim=1) / count
    return mean, torch.log(torch.clamp(second - mean**2, min=torch.finfo(mu.dtype).tiny))


def _mixture_log_weights(mask: Tensor, alpha: float, like: Tensor) -> tuple[Tensor, Tensor]:
    """Log weights of h = alpha N(0, I) + (1 - alpha) / M_b sum_k q_k over present k.

    Returns the per-subject log weights ``(batch, subject)`` (-inf where absent) and the
    log weight of the standard-normal component ``(batch,)`` (-inf when alpha = 0).
    """
    weight = _as_float_mask(mask, like)
    count = weight.sum(dim=1, keepdim=True)
    log_w = torch.log(weight * (1.0 - alpha) / count)
    log_w0 = torch.full_like(count[:, 0], math.log(alpha) if alpha > 0 else -math.inf)
    return log_w, log_w0


def mixture_kl_mc(
    mu: Tensor,
    logvar: Tensor,
    mask: Tensor | None = None,
    *,
    n_draws: int = 1,
    alpha: float = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Monte-Carlo estimate of KL(q_m || h) for every subject m (the MMVM rate, "mc").

    h(z) = alpha N(z; 0, I) + (1 - alpha) / M sum_k q_k(z) over the M present subjects
    (the paper's Eq. 2 when alpha = 0). With z ~ q_m drawn by reparameterisation the
    estimate log q_m(z) - log h(z) is unbiased; log h uses a log-sum-exp over the
    components. Gradients flow into every component: no stop-gradient on the prior.

    Returns
    -------
    Tensor of shape (batch, subject); zero where a subject is absent.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    z = reparameterize(mu, logvar, n_draws, generator)  # (S, B, M, L): z drawn from q_m
    # log q_k(z_m) for every pair: (S, B, M [sample from m], M [evaluated under k])
    log_q = log_normal(z.unsqueeze(-2), mu.unsqueeze(-3), logvar.unsqueeze(-3))
    log_own = torch.diagonal(log_q, dim1=-2, dim2=-1)  # (S, B, M)
    log_w, log_w0 = _mixture_log_weights(mask, alpha, mu)
    terms = log_q + log_w.unsqueeze(-2)  # weights indexed by k
    if alpha > 0:
        log_std = log_normal(z, torch.zeros_like(z), torch.zeros_like(z)) + log_w0[:, None]
        terms = torch.cat([terms, log_std.unsqueeze(-1)], dim=-1)
    log_h = torch.logsumexp(terms, dim=-1)
    kl = (log_own - log_h).mean(dim=0)
    return kl * _as_float_mask(mask, mu)


def kl_to_mixture_mc(
    mu: Tensor,
    logvar: Tensor,
    mu_mix: Tensor,
    logvar_mix: Tensor,
    *,
    n_draws: int = 64,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Monte-Carlo KL(q_b || p) of every row's Gaussian to one equal-weight mixture.

    ``mu``, ``logvar``: ``(batch, latent)``, the rows' q_b; ``mu_mix``, ``logvar_mix``:
    ``(component, latent)``, p = 1/C sum_c N(mu_mix[c], diag(exp(logvar_mix[c]))). With
    ``n_draws`` draws z ~ q_b the mean of log q_b(z) - log p(z) (a log-sum-exp over the
    components) is unbiased. Returns ``(batch,)``.

    Examples
    --------
    >>> import torch
    >>> q = torch.zeros(1, 2), torch.zeros(1, 2)
    >>> one = torch.ones(1, 2), torch.zeros(1, 2)  # N((1, 1), I): KL = 1 in closed form
    >>> gen = torch.Generator().manual_seed(0)
    >>> round(float(kl_to_mixture_mc(*q, *one, n_draws=20000, generator=gen)), 1)
    1.0
    """
    z = reparameterize(mu, logvar, n_draws, generator)  # (S, B, L)
    log_q = log_normal(z, mu, logvar)  # (S, B)
    log_p = torch.logsumexp(log_normal(z.unsqueeze(-2), mu_mix, logvar_mix), dim=-1)
    return (log_q - log_p + math.log(mu_mix.shape[0])).mean(dim=0)


#: From this many subjects on, :func:`mixture_kl_pairwise` sums over k in O(M) (see
#: :func:`_kl_sums_linear`) instead of building the (batch, M, M, latent) pairs.
PAIRWISE_LINEAR_FROM = 8


def _kl_sums_linear(mu: Tensor, logvar: Tensor, weight: Tensor) -> Tensor:
    """sum_k w_k KL(q_m || q_k) for every m, ``(batch, subject)``, in O(M).

    With precisions P_k = exp(-logvar_k), per latent coordinate,
    2 sum_k w_k KL_mk = S_lv - W lv_m + exp(lv_m) S_P + mu_m^2 S_P - 2 mu_m S_Pmu
    + S_Pmu2 - W, where S_lv, S_P, S_Pmu, S_Pmu2 are the w-weighted sums over k of
    logvar_k, P_k, P_k mu_k and P_k mu_k^2, and W = sum_k w_k. The squares cancel
    against each other where posteriors are narrow (P up to e^12), so the sums and the
    combination run in float64; the result returns in the input's dtype.
    """
    dtype = mu.dtype
    mu, logvar, w = mu.double(), logvar.double(), weight.double().unsqueeze(-1)
    precision = torch.exp(-logvar)
    s_lv = (w * logvar).sum(dim=1, keepdim=True)
    s_p = (w * precision).sum(dim=1, keepdim=True)
    s_pmu = (w * precision * mu).sum(dim=1, keepdim=True)
    s_pmu2 = (w * precision * mu**2).sum(dim=1, keepdim=True)
    total = w.sum(dim=1, keepdim=True)
    terms = (
        s_lv
        - total * logvar
        + (torch.exp(logvar) + mu**2) * s_p
        - 2.0 * mu * s_pmu
        + s_pmu2
        - total
    )
    return (0.5 * terms.sum(dim=-1)).to(dtype)


def mixture_kl_pairwise(
    mu: Tensor, logvar: Tensor, mask: Tensor | None = None, *, alpha: float = 0.0
) -> Tensor:
    """Closed-form Jensen upper bound of KL(q_m || h) (the MMVM rate, "pairwise").

    KL is convex in its second argument, so
    KL(q_m || sum_j w_j p_j) <= sum_j w_j KL(q_m || p_j) =
    alpha KL(q_m || N(0, I)) + (1 - alpha) / M sum_k KL(q_m || q_k).
    This is the estimator of the authors' released code. Up to
    :data:`PAIRWISE_LINEAR_FROM` subjects the M^2 pairs are computed; from there on the
    sum over k is taken in closed form in O(M) time and memory (same value to float
    precision; :func:`_kl_sums_linear`).

    Returns
    -------
    Tensor of shape (batch, subject); zero where a subject is absent.

    Examples
    --------
    >>> import torch
    >>> mu = torch.tensor([[[0.0], [1.0]]]); logvar = torch.zeros(1, 2, 1)
    >>> mixture_kl_pairwise(mu, logvar)  # 1/2 (0 + 1/2) for each subject
    tensor([[0.2500, 0.2500]])
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    weight = _as_float_mask(mask, mu)
    count = weight.sum(dim=1, keepdim=True)
    if mu.shape[1] >= PAIRWISE_LINEAR_FROM:
        summed = _kl_sums_linear(mu, logvar, weight)
    else:
        pair = kl_normal(
            mu.unsqueeze(2), logvar.unsqueeze(2), mu.unsqueeze(1), logvar.unsqueeze(1)
        )
        summed = (pair * weight.unsqueeze(1)).sum(dim=2)
    kl = (1.0 - alpha) * summed / count
    if alpha > 0:
        kl = kl + alpha * kl_standard_normal(mu, logvar)
    return kl * weight


def subsets(n_subjects: int) -> Tensor:
    """All 2^M - 1 non-empty subsets of M subjects as a bool matrix (subset, subject).

    Ordered by size, then lexicographically.

    Examples
    --------
    >>> subsets(2)
    tensor([[ True, False],
            [False,  True],
            [ True,  True]])
    """
    rows = [
        [m in combo for m in range(n_subjects)]
        for size in range(1, n_subjects + 1)
        for combo in itertools.combinations(range(n_subjects), size)
    ]
    return torch.tensor(rows, dtype=torch.bool)
