"""The Gaussian math against independent computations: torch.distributions, quadrature,
hand-built products."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from neuromix.models.gaussian import (
    average,
    kl_normal,
    kl_standard_normal,
    mixture_kl_mc,
    mixture_kl_pairwise,
    mixture_moments,
    product_of_experts,
    subsets,
)

D = torch.distributions


def test_kl_normal_matches_torch_distributions(rng):
    mu_q, mu_p = torch.tensor(rng.normal(size=(2, 7, 3)))
    lv_q, lv_p = torch.tensor(rng.normal(size=(2, 7, 3)))
    expected = D.kl_divergence(
        D.Normal(mu_q, (0.5 * lv_q).exp()), D.Normal(mu_p, (0.5 * lv_p).exp())
    ).sum(-1)
    torch.testing.assert_close(kl_normal(mu_q, lv_q, mu_p, lv_p), expected)
    expected0 = D.kl_divergence(
        D.Normal(mu_q, (0.5 * lv_q).exp()), D.Normal(torch.zeros(()), torch.ones(()))
    ).sum(-1)
    torch.testing.assert_close(kl_standard_normal(mu_q, lv_q), expected0)


def _kl_to_mixture_quadrature_1d(m, mus, sds, weights):
    """KL(N(mus[m], sds[m]) || sum_k w_k N(mus[k], sds[k])) by adaptive quadrature."""

    def integrand(z):
        q = stats.norm.pdf(z, mus[m], sds[m])
        h = sum(w * stats.norm.pdf(z, mu, sd) for w, mu, sd in zip(weights, mus, sds, strict=True))
        return q * (np.log(q) - np.log(h)) if q > 0 else 0.0

    lo, hi = mus[m] - 12 * sds[m], mus[m] + 12 * sds[m]
    return integrate.quad(integrand, lo, hi, limit=200, epsabs=1e-10)[0]


def _kl_to_mixture_grid_2d(m, mus, sds, weights, n=1201):
    """The same in 2-D on a fine grid (diagonal Gaussians), trapezoid rule."""
    centre, width = mus[m], 10 * sds[m]
    gx = np.linspace(centre[0] - width[0], centre[0] + width[0], n)
    gy = np.linspace(centre[1] - width[1], centre[1] + width[1], n)
    zx, zy = np.meshgrid(gx, gy, indexing="ij")

    def pdf(mu, sd):
        return stats.norm.pdf(zx, mu[0], sd[0]) * stats.norm.pdf(zy, mu[1], sd[1])

    q = pdf(mus[m], sds[m])
    h = sum(w * pdf(mu, sd) for w, mu, sd in zip(weights, mus, sds, strict=True))
    f = np.where(q > 1e-300, q * (np.log(np.maximum(q, 1e-300)) - np.log(h)), 0.0)
    return np.trapezoid(np.trapezoid(f, gy, axis=1), gx)


def _mc_estimate(mu, logvar, alpha, n_rows=4000, n_draws=50):
    """Per-row MC estimates on a batch of identical rows -> mean and standard error."""
    mu_b = mu.expand(n_rows, *mu.shape[1:]).double()
    lv_b = logvar.expand(n_rows, *logvar.shape[1:]).double()
    gen = torch.Generator().manual_seed(1)
    est = mixture_kl_mc(mu_b, lv_b, n_draws=n_draws, alpha=alpha, generator=gen)
    return est.mean(0).numpy(), (est.std(0) / np.sqrt(n_rows)).numpy()


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_mc_rate_matches_quadrature_1d(alpha):
    mus = np.array([-1.0, 0.5, 2.0])
    sds = np.array([0.7, 1.2, 0.5])
    mu = torch.tensor(mus).view(1, 3, 1)
    logvar = torch.tensor(2 * np.log(sds)).view(1, 3, 1)
    mean, se = _mc_estimate(mu, logvar, alpha)
    all_mus, all_sds = np.append(mus, 0.0), np.append(sds, 1.0)
    weights = np.append(np.full(3, (1 - alpha) / 3), alpha)
    for m in range(3):
        truth = _kl_to_mixture_quadrature_1d(m, all_mus, all_sds, weights)
        assert abs(mean[m] - truth) < 4 * se[m] + 1e-6, (m, mean[m], truth, se[m])
        pairwise = mixture_kl_pairwise(mu, logvar, alpha=alpha)[0, m].item()
        assert pairwise >= truth - 1e-9


def test_mc_rate_matches_grid_integration_2d():
    mus = np.array([[0.0, 0.0], [1.0, -0.5], [-0.5, 1.5]])
    sds = np.array([[1.0, 0.6], [0.5, 0.8], [0.9, 0.4]])
    mu = torch.tensor(mus).view(1, 3, 2)
    logvar = torch.tensor(2 * np.log(sds)).view(1, 3, 2)
    mean, se = _mc_estimate(mu, logvar, 0.0)
    for m in range(3):
        truth = _kl_to_mixture_grid_2d(m, mus, sds, np.full(3, 1 / 3))
        assert abs(mean[m] - truth) < 4 * se[m] + 1e-4, (m, mean[m], truth, se[m])
        assert mixture_kl_pairwise(mu, logvar)[0, m].item() >= truth - 1e-6


def test_both_estimators_zero_for_equal_posteriors(rng):
    one = torch.tensor(rng.normal(size=(5, 1, 3)))
    mu, logvar = one.expand(5, 4, 3), (0.3 * one).expand(5, 4, 3)
    assert torch.allclose(mixture_kl_pairwise(mu, logvar), torch.zeros(5, 4).double(), atol=1e-12)
    assert torch.allclose(
        mixture_kl_mc(mu, logvar, n_draws=3), torch.zeros(5, 4).double(), atol=1e-12
    )


def test_absent_subjects_are_left_out_of_the_mixture(rng):
    mu = torch.tensor(rng.normal(size=(2, 3, 2)))
    logvar = torch.tensor(rng.normal(size=(2, 3, 2)) * 0.2)
    mask = torch.tensor([[True, True, False], [True, True, False]])
    full = mixture_kl_pairwise(mu[:, :2], logvar[:, :2])
    masked = mixture_kl_pairwise(mu, logvar, mask)
    torch.testing.assert_close(masked[:, :2], full)
    assert torch.all(masked[:, 2] == 0)
    gen = torch.Generator().manual_seed(0)
    mc_masked = mixture_kl_mc(mu, logvar, mask, generator=gen)
    assert torch.all(mc_masked[:, 2] == 0) and torch.isfinite(mc_masked).all()


@pytest.mark.parametrize("estimator", ["pairwise", "mc"])
def test_mixture_rate_gradients_reach_every_subject(estimator, rng):
    mu = torch.tensor(rng.normal(size=(4, 3, 2)), requires_grad=True)
    logvar = torch.tensor(rng.normal(size=(4, 3, 2)) * 0.1, requires_grad=True)
    if estimator == "mc":
        kl = mixture_kl_mc(mu, logvar, n_draws=2)
    else:
        kl = mixture_kl_pairwise(mu, logvar)
    # the rate of subject 0 alone pulls on the other subjects (no stop-gradient)
    kl[:, 0].sum().backward()
    assert (mu.grad[:, 1:].abs().sum(dim=(0, 2)) > 0).all()


def test_product_of_experts_by_hand():
    mu = torch.tensor([[[1.0, -2.0], [3.0, 0.0]]])
    var = torch.tensor([[[0.5, 2.0], [1.5, 1.0]]])
    # precision-weighted product, computed by hand
    t1, t2 = 1 / var[0, 0], 1 / var[0, 1]
    want_var = 1 / (t1 + t2)
    want_mu = (t1 * mu[0, 0] + t2 * mu[0, 1]) * want_var
    got_mu, got_lv = product_of_experts(mu, var.log(), prior_expert=False)
    torch.testing.assert_close(got_mu[0], want_mu)
    torch.testing.assert_close(got_lv[0].exp(), want_var)
    # with the N(0, I) expert: one more precision of 1 and mean 0
    want_var0 = 1 / (t1 + t2 + 1)
    got_mu0, got_lv0 = product_of_experts(mu, var.log(), prior_expert=True)
    torch.testing.assert_close(got_mu0[0], (t1 * mu[0, 0] + t2 * mu[0, 1]) * want_var0)
    torch.testing.assert_close(got_lv0[0].exp(), want_var0)


def test_average_takes_mean_of_variances():
    # Hand computation: variances 1 and 9 (subject 3 absent) average to 5, as in the
    # paper's authors' code (log of the mean of exp(logvar)); sd 1 and 3 would give 4.
    mu = torch.tensor([[[0.0], [4.0], [100.0]]])
    sd = torch.tensor([[[1.0], [3.0], [50.0]]])
    mask = torch.tensor([[True, True, False]])
    m, lv = average(mu, (sd**2).log(), mask)
    assert m.item() == pytest.approx(2.0)
    assert lv.exp().item() == pytest.approx(5.0)


def test_average_of_variances_is_stable_and_differentiable():
    # log-variances far apart: exp would under/overflow in float32 without log-sum-exp
    mu = torch.zeros(1, 2, 1)
    logvar = torch.tensor([[[-100.0], [-102.0]]], requires_grad=True)
    _, lv = average(mu, logvar)
    want = math.log((math.exp(0.0) + math.exp(-2.0)) / 2) - 100.0
    assert lv.item() == pytest.approx(want, rel=1e-6)
    lv.sum().backward()
    assert torch.isfinite(logvar.grad).all()


def test_mixture_moments_match_sampling(rng):
    mu = torch.tensor(rng.normal(size=(1, 3, 2)))
    logvar = torch.tensor(rng.normal(size=(1, 3, 2)) * 0.3)
    m, lv = mixture_moments(mu, logvar)
    comp = rng.integers(3, size=200_000)
    draws = mu[0, comp].numpy() + np.exp(0.5 * logvar[0, comp].numpy()) * rng.normal(
        size=(200_000, 2)
    )
    np.testing.assert_allclose(m[0].numpy(), draws.mean(0), atol=0.02)
    np.testing.assert_allclose(lv[0].exp().numpy(), draws.var(0), rtol=0.02)


@pytest.mark.parametrize("m", [1, 2, 3, 5])
def test_subsets_enumerates_all_non_empty_subsets(m):
    s = subsets(m)
    assert s.shape == (2**m - 1, m)
    assert s.any(dim=1).all()
    assert len({tuple(r.tolist()) for r in s}) == 2**m - 1


# ------------------------------------------------------------ the O(M) pairwise rate
def _pairwise_by_loop(mu, logvar, mask, alpha):
    """The MMVM pairwise rate as a plain double loop over subjects, in float64."""
    mu, logvar = mu.double(), logvar.double()
    batch, m_all, _ = mu.shape
    out = torch.zeros(batch, m_all, dtype=torch.float64)
    for b in range(batch):
        present = [k for k in range(m_all) if mask[b, k]]
        for m in present:
            pairs = sum(kl_normal(mu[b, m], logvar[b, m], mu[b, k], logvar[b, k]) for k in present)
            out[b, m] = (1 - alpha) * pairs / len(present)
            if alpha:
                out[b, m] += alpha * kl_standard_normal(mu[b, m], logvar[b, m])
    return out


@pytest.mark.parametrize("n_subjects", [9, 20, 50])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_the_linear_pairwise_rate_equals_the_double_loop(n_subjects, alpha):
    from neuromix.models.gaussian import PAIRWISE_LINEAR_FROM

    assert n_subjects > PAIRWISE_LINEAR_FROM  # the O(M) path
    gen = torch.Generator().manual_seed(n_subjects)
    mu = (3 * torch.randn(6, n_subjects, 4, generator=gen)).requires_grad_()
    # narrow and wide posteriors, to the ends of LOGVAR_RANGE: cancellation is worst there
    logvar = (-12 + 18 * torch.rand(6, n_subjects, 4, generator=gen)).requires_grad_()
    mask = torch.rand(6, n_subjects, generator=gen) > 0.3
    mask[:, 0] = True
    got = mixture_kl_pairwise(mu, logvar, mask, alpha=alpha)
    expected = _pairwise_by_loop(mu, logvar, mask, alpha)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-4)
    assert torch.all(got[~mask] == 0)
    # gradients too
    g_mu, g_lv = torch.autograd.grad(got.sum(), (mu, logvar))
    e_mu, e_lv = torch.autograd.grad(expected.sum(), (mu, logvar))
    torch.testing.assert_close(g_mu, e_mu, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(g_lv, e_lv, rtol=1e-4, atol=1e-3)


def test_the_linear_pairwise_rate_is_zero_for_equal_narrow_posteriors():
    mu = torch.full((2, 12, 3), 7.0)
    logvar = torch.full((2, 12, 3), -12.0)
    assert float(mixture_kl_pairwise(mu, logvar).abs().max()) < 1e-6
