"""Every registered method: identities, agreement and the plans they hand to the model."""

import pytest
import torch

import neuromix as nm
from neuromix.models import get_method
from neuromix.models.gaussian import kl_standard_normal, subsets

METHODS = nm.models.available()


def test_registry_lists_the_six_methods_in_paper_order():
    assert METHODS == ("independent", "avg", "poe", "moe", "mopoe", "mmvm")


def test_unknown_method_name_is_refused():
    with pytest.raises(ValueError, match=r"unknown method 'vae'; available: independent, avg"):
        get_method("vae")


def _one_subject(seed=0):
    gen = torch.Generator().manual_seed(seed)
    mu = torch.randn(6, 1, 3, generator=gen)
    logvar = 0.3 * torch.randn(6, 1, 3, generator=gen)
    return mu, logvar, torch.ones(6, 1, dtype=torch.bool)


@pytest.mark.parametrize("name", ["independent", "avg", "poe", "moe", "mopoe"])
def test_one_subject_every_aggregation_returns_its_posterior(name):
    mu, logvar, mask = _one_subject()
    options = {"prior_expert": False} if name == "poe" else {}
    joint_mu, joint_lv = get_method(name, **options).joint(mu, logvar, mask)
    torch.testing.assert_close(joint_mu, mu[:, 0])
    torch.testing.assert_close(joint_lv, logvar[:, 0])


@pytest.mark.parametrize("name", ["independent", "avg", "poe", "moe", "mopoe"])
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
    mc = get_method("mmvm", estimator="mc", n_samples=4).plan(mu, logvar, mask, generator=gen)
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
        ({"n_samples": 0}, "n_samples must be >= 1"),
        ({"anneal_epochs": -1}, "anneal_epochs must be >= 0"),
        ({"temperature": 1}, "invalid options"),
    ],
)
def test_bad_mmvm_options(options, match):
    with pytest.raises(ValueError, match=match):
        get_method("mmvm", **options)
