"""Every registered method: identities, agreement and the plans they hand to the model."""

import pytest
import torch

import neuromix as nm
from neuromix.models import get_method
from neuromix.models.gaussian import kl_standard_normal, subsets

METHODS = nm.models.available()
# Subsets by property, not by hand, so that a newly registered method is tested at once.
ONE_SUBJECT = [m for m in METHODS if get_method(m).min_subjects == 1]
AGGREGATING = [m for m in METHODS if get_method(m).aggregates]
NON_AGGREGATING = [m for m in METHODS if not get_method(m).aggregates]


def test_registry_lists_the_six_methods_in_paper_order():
    assert METHODS == ("independent", "avg", "poe", "moe", "mopoe", "mmvm")


def test_subsets_by_property_match_the_paper():
    assert ONE_SUBJECT == ["independent", "avg", "poe", "moe", "mopoe"]
    assert AGGREGATING == ["avg", "poe", "moe", "mopoe"]
    assert NON_AGGREGATING == ["independent", "mmvm"]


def test_unknown_method_name_is_refused():
    with pytest.raises(ValueError, match=r"unknown method 'vae'; available: independent, avg"):
        get_method("vae")


def _one_subject(seed=0):
    gen = torch.Generator().manual_seed(seed)
    mu = torch.randn(6, 1, 3, generator=gen)
    logvar = 0.3 * torch.randn(6, 1, 3, generator=gen)
    return mu, logvar, torch.ones(6, 1, dtype=torch.bool)


@pytest.mark.parametrize("name", ONE_SUBJECT)
def test_one_subject_every_aggregation_returns_its_posterior(name):
    mu, logvar, mask = _one_subject()
    options = {"prior_expert": False} if name == "poe" else {}
    joint_mu, joint_lv = get_method(name, **options).joint(mu, logvar, mask)
    torch.testing.assert_close(joint_mu, mu[:, 0])
    torch.testing.assert_close(joint_lv, logvar[:, 0])


@pytest.mark.parametrize("name", ONE_SUBJECT)
def test_one_subject_rate_is_the_standard_vae_rate(name):
    mu, logvar, mask = _one_subject(1)
    options = {"prior_expert": False} if name == "poe" else {}
    plan = get_method(name, **options).plan(mu, logvar, mask)
    torch.testing.assert_close(plan.rate, kl_standard_normal(mu[:, 0], logvar[:, 0]))


def test_mmvm_needs_two_subjects():
    assert get_method("mmvm").min_subjects == 2


@pytest.mark.parametrize("name", METHODS)
def test_plans_are_well_formed(name):
    gen = torch.Generator().manual_seed(0)
    mu = torch.randn(5, 3, 2, generator=gen)
    logvar = 0.2 * torch.randn(5, 3, 2, generator=gen)
    mask = torch.tensor([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    if name == "mmvm":
        mask[2] = torch.tensor([True, True, False])
    plan = get_method(name).plan(mu, logvar, mask, generator=gen)
    n_comp = plan.mu.shape[1]
    assert plan.decode.shape[0] == 3 and int(plan.decode.max()) < n_comp
    assert plan.weight.shape == (5, 3, plan.decode.shape[1])
    assert torch.all(plan.weight[~mask] == 0), "absent subjects are never reconstructed"
    assert torch.isfinite(plan.rate).all() and (plan.rate >= -1e-6).all()


def test_mopoe_components_are_the_subset_products():
    from neuromix.models.gaussian import product_of_experts

    gen = torch.Generator().manual_seed(3)
    mu = torch.randn(2, 3, 2, generator=gen)
    logvar = 0.2 * torch.randn(2, 3, 2, generator=gen)
    mask = torch.ones(2, 3, dtype=torch.bool)
    plan = get_method("mopoe").plan(mu, logvar, mask)
    assert plan.mu.shape[1] == 7
    for s, members in enumerate(subsets(3)):
        want_mu, want_lv = product_of_experts(
            mu[:, members], logvar[:, members], prior_expert=False
        )
        torch.testing.assert_close(plan.mu[:, s], want_mu)
        torch.testing.assert_close(plan.logvar[:, s], want_lv)
    # stratified: every subject's reconstruction averages over the 7 subsets
    torch.testing.assert_close(plan.weight.sum(-1), torch.ones(2, 3))


def test_mopoe_with_a_missing_subject_uses_only_subsets_of_present_ones():
    mu, logvar = torch.zeros(1, 3, 2), torch.zeros(1, 3, 2)
    mask = torch.tensor([[True, False, True]])
    plan = get_method("mopoe").plan(mu, logvar, mask)
    used = plan.weight[0, 0] > 0
    members = subsets(3)[used]
    assert len(members) == 3 and not members[:, 1].any()


def test_moe_stratified_weights_average_over_components():
    mask = torch.ones(4, 3, dtype=torch.bool)
    plan = get_method("moe").plan(torch.zeros(4, 3, 2), torch.zeros(4, 3, 2), mask)
    torch.testing.assert_close(plan.weight, torch.full((4, 3, 3), 1 / 3))


def test_mmvm_estimators_agree_with_each_other():
    # For strongly overlapping posteriors a second-order expansion of the KL gives
    # sum_m KL(q_m || h) = 1/2 sum_m |d_m - mean d|^2 and the pairwise bound
    # 1/M sum_m sum_k 1/2 |d_m - d_k|^2 = exactly twice that: the two estimators
    # must agree up to this factor, and the bound must lie above.
    gen = torch.Generator().manual_seed(0)
    rows = 50000
    mu = (0.1 * torch.randn(1, 3, 2, generator=gen)).double().expand(rows, 3, 2)
    logvar = (0.1 * torch.randn(1, 3, 2, generator=gen)).double().expand(rows, 3, 2)
    mask = torch.ones(rows, 3, dtype=torch.bool)
    mc = get_method("mmvm", estimator="mc", n_draws=4).plan(mu, logvar, mask, generator=gen)
    pw = get_method("mmvm", estimator="pairwise").plan(mu, logvar, mask)
    mc_rate, se = mc.rate.mean(), mc.rate.std() / rows**0.5
    assert pw.rate[0] > mc_rate
    assert abs(pw.rate[0] / mc_rate - 2.0) < 0.02 + 4 * (2 * se / mc_rate)


def test_mmvm_alpha_anneals_linearly_to_zero():
    m = get_method("mmvm", alpha=0.8, anneal_epochs=4)
    assert [m.alpha_at(e) for e in range(6)] == pytest.approx([0.8, 0.6, 0.4, 0.2, 0.0, 0.0])


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"estimator": "exact"}, "estimator must be one of"),
        ({"alpha": 1.5}, r"alpha must lie in \[0, 1\]"),
        ({"n_draws": 0}, "n_draws must be >= 1"),
        ({"anneal_epochs": -1}, "anneal_epochs must be >= 0"),
        ({"temperature": 1}, "invalid options"),
    ],
)
def test_bad_mmvm_options(options, match):
    with pytest.raises(ValueError, match=match):
        get_method("mmvm", **options)


# --------------------------------------------------------------------------- conventions
N_FEATURES = (5, 4, 3)


def _networks(seed=0, latent=2):
    from neuromix.models.architectures import build_networks
    from neuromix.models.likelihoods import get_likelihood

    liks = [get_likelihood("gaussian") for _ in N_FEATURES]
    gen = torch.Generator().manual_seed(seed)
    shapes = [(d,) for d in N_FEATURES]
    enc, dec = build_networks(shapes, liks, ["mlp"] * len(shapes), latent, generator=gen)
    return enc, dec, liks


def _module(method, rate_scale="one", networks=None):
    from neuromix.models.vae import MultimodalModule

    enc, dec, liks = _networks() if networks is None else networks
    return MultimodalModule(enc, dec, liks, method, 2, rate_scale=rate_scale)


def _batch(seed=1, n=8):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=gen) for d in N_FEATURES]


def _kl_to_prior(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) by torch.distributions, summed over the latent."""
    from torch.distributions import Normal, kl_divergence

    q = Normal(mu, torch.exp(0.5 * logvar))
    return kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)


def _losses(name, mask=None, beta=0.5, **options):
    """The loss of the same networks, batch and noise under both rate scales."""
    networks = _networks()
    xs = _batch()
    out = {}
    for scale in ("one", "subjects"):
        module = _module(get_method(name, **options), scale, networks)
        gen = torch.Generator().manual_seed(5)
        out[scale] = module.loss(xs, mask, beta=beta, generator=gen)
    return out, module, xs


@pytest.mark.parametrize("name", AGGREGATING)
def test_rate_scale_subjects_counts_the_joint_kl_once_per_subject(name):
    out, _, _ = _losses(name)
    torch.testing.assert_close(out["subjects"]["rate"], 3 * out["one"]["rate"])
    torch.testing.assert_close(out["subjects"]["recon"], out["one"]["recon"])
    for scale in out:
        loss = out[scale]["recon"] + 0.5 * out[scale]["rate"]
        torch.testing.assert_close(out[scale]["loss"], loss)


def _closed_form_joint(name, mu, logvar, mask):
    w = mask.to(mu.dtype).unsqueeze(-1)
    if name == "avg":
        n = w.sum(1)
        return (w * mu).sum(1) / n, torch.log((w * torch.exp(logvar)).sum(1) / n)
    precision = (w * torch.exp(-logvar)).sum(1) + 1.0  # PoE with the N(0, I) expert
    return (w * torch.exp(-logvar) * mu).sum(1) / precision, -torch.log(precision)


@pytest.mark.parametrize("name", ["avg", "poe"])
@pytest.mark.parametrize("missing", [False, True])
def test_rate_scale_subjects_is_m_times_the_closed_form_joint_kl(name, missing):
    """Against KL(joint || N(0, I)) from torch.distributions, with M = 3 the subjects of
    the model (also when a subject is absent from some rows)."""
    mask = torch.ones(8, 3, dtype=torch.bool)
    if missing:
        mask[::2, 1] = False
    out, module, xs = _losses(name, mask)
    mu, logvar, _ = module.encode(xs)
    kl = _kl_to_prior(*_closed_form_joint(name, mu, logvar, mask))
    torch.testing.assert_close(out["one"]["rate"], kl.mean())
    torch.testing.assert_close(out["subjects"]["rate"], 3 * kl.mean())


def test_rate_scale_subjects_makes_moe_sum_its_components_kls():
    out, module, xs = _losses("moe")
    mu, logvar, _ = module.encode(xs)
    kl = _kl_to_prior(mu, logvar)  # (batch, subject)
    torch.testing.assert_close(out["one"]["rate"], kl.mean(1).mean())
    torch.testing.assert_close(out["subjects"]["rate"], kl.sum(1).mean())


@pytest.mark.parametrize("name", NON_AGGREGATING)
def test_rate_scale_leaves_independent_and_mmvm_unchanged(name):
    out, module, xs = _losses(name)
    for key in ("loss", "recon", "rate"):
        torch.testing.assert_close(out["subjects"][key], out["one"][key])
    if name == "independent":
        mu, logvar, _ = module.encode(xs)
        torch.testing.assert_close(out["one"]["rate"], _kl_to_prior(mu, logvar).sum(1).mean())


def test_rate_scale_is_checked():
    with pytest.raises(ValueError, match="rate_scale must be one of"):
        _module(get_method("avg"), "modalities")


def _nll(module, m, z, x):
    return module.likelihoods[m].nll(module.likelihood_params(z, subjects=[m])[m], x)


def _poe_by_hand(module, xs, eps, prior_expert, beta, subsampled, scale):
    """The PoE objective with an explicit loop over subjects and the given noise."""
    mu, logvar, _ = module.encode(xs)
    precision = torch.exp(-logvar)
    total = precision.sum(1) + float(prior_expert)
    mu_j, var_j = (precision * mu).sum(1) / total, 1.0 / total
    z = mu_j + var_j.sqrt() * eps[:, 0]
    recon = sum(_nll(module, m, z, x) for m, x in enumerate(xs))
    kl_joint = _kl_to_prior(mu_j, var_j.log())
    rate = (3 if scale == "subjects" else 1) * kl_joint
    if subsampled:
        for m, x in enumerate(xs):
            total_m = precision[:, m] + float(prior_expert)
            mu_m, var_m = precision[:, m] * mu[:, m] / total_m, 1.0 / total_m
            z_m = mu_m + var_m.sqrt() * eps[:, 1 + m]
            recon = recon + _nll(module, m, z_m, x)  # q~_m reconstructs x_m only
            rate = rate + _kl_to_prior(mu_m, var_m.log())
    return (recon + beta * rate).mean(), rate.mean()


@pytest.mark.parametrize("prior_expert", [True, False])
@pytest.mark.parametrize("scale", ["one", "subjects"])
@pytest.mark.parametrize("subsampled", [False, True])
def test_poe_loss_is_the_joint_elbo_plus_the_unimodal_elbos(prior_expert, scale, subsampled):
    """Default: the joint ELBO only; subsampled: joint ELBO + sum_m ELBO(q~_m; x_m), the
    model's noise reproduced by drawing it from the same seeded generator."""
    method = get_method("poe", prior_expert=prior_expert, subsampled=subsampled)
    module = _module(method, scale)
    xs = _batch(2)
    out = module.loss(xs, beta=0.7, generator=torch.Generator().manual_seed(9))
    n_components = 4 if subsampled else 1
    eps = torch.randn(8, n_components, 2, generator=torch.Generator().manual_seed(9))
    loss, rate = _poe_by_hand(module, xs, eps, prior_expert, 0.7, subsampled, scale)
    torch.testing.assert_close(out["loss"], loss)
    torch.testing.assert_close(out["rate"], rate)


def test_poe_default_plan_is_the_joint_plan():
    from neuromix.models.methods._common import joint_component_plan

    mu, logvar = torch.randn(4, 3, 2), 0.3 * torch.randn(4, 3, 2)
    mask = torch.tensor([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]], dtype=torch.bool)
    poe = get_method("poe")
    assert poe.subsampled is False and poe.config() == {"prior_expert": True, "subsampled": False}
    got = poe.plan(mu, logvar, mask)
    want = joint_component_plan(*poe.joint(mu, logvar, mask), mask)
    for field in ("mu", "logvar", "decode", "weight", "rate", "joint_rate"):
        torch.testing.assert_close(getattr(got, field), getattr(want, field))


def test_subsampled_poe_unimodal_terms_skip_absent_subjects():
    mu, logvar = torch.randn(4, 3, 2), 0.3 * torch.randn(4, 3, 2)
    mask = torch.tensor([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]], dtype=torch.bool)
    plan = get_method("poe", subsampled=True).plan(mu, logvar, mask)
    joint = get_method("poe").plan(mu, logvar, mask)
    unimodal = _kl_to_prior(*get_method("poe").unimodal(mu, logvar)) * mask
    torch.testing.assert_close(plan.rate, joint.rate + unimodal.sum(1))
    torch.testing.assert_close(plan.joint_rate, joint.rate)
    torch.testing.assert_close(plan.weight, torch.stack([mask.float()] * 2, dim=-1))
