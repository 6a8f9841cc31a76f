"""MoPoE (Sutter et al. 2021): mixture over the products of experts of all subsets."""

from __future__ import annotations

import torch

from neuromix.models.gaussian import mixture_moments, subsets
from neuromix.models.methods._common import stratified_plan
from neuromix.models.methods.base import METHODS, Method

__all__ = ["MoPoE", "subset_posteriors"]


def subset_posteriors(mu, logvar, mask, prior_expert: bool = False):
    """PoE posterior of every non-empty subset of subjects, in one batched operation.

    Returns ``mu_s``, ``logvar_s`` of shape ``(batch, 2^M - 1, latent)`` and ``valid``
    ``(batch, 2^M - 1)``: the subsets made only of present subjects.
    """
    members = subsets(mu.shape[1]).to(mu.device)  # (S, M)
    precision = torch.exp(-logvar)  # (B, M, L)
    member = members.to(mu.dtype)
    total = torch.einsum("sm,bml->bsl", member, precision)
    weighted = torch.einsum("sm,bml->bsl", member, precision * mu)
    if prior_expert:
        total = total + 1.0
    valid = ~(members.unsqueeze(0) & ~mask.unsqueeze(1)).any(dim=-1)  # subset within present
    return weighted / total, -torch.log(total), valid


@METHODS.register
class MoPoE(Method):
    """Mixture of the PoE posteriors of all 2^M - 1 non-empty subsets.

    Trained by stratified sampling over the subsets of the present subjects: every
    subset's PoE posterior is sampled and decoded into every present subject;
    reconstruction and rate mean_S KL(q_S || N(0, I)) are averaged over subsets (like
    MoE's, the rate is an upper bound of the KL of the mixture).

    Scale of beta: with ``rate_scale="one"`` beta multiplies mean_S KL(q_S || N(0, I))
    over the subsets of the present subjects; with ``rate_scale="subjects"`` (the
    authors' code of Sutter, Meng et al. 2024) it multiplies M times that mean, M the
    number of subjects of the model.

    Parameters
    ----------
    prior_expert : bool, default=False
        Include the N(0, I) expert in every subset's product (the MoPoE paper does not).

    Examples
    --------
    >>> import torch
    >>> plan = MoPoE().plan(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), torch.ones(2, 3).bool())
    >>> tuple(plan.mu.shape)  # 2^3 - 1 = 7 components
    (2, 7, 4)
    """

    name = "mopoe"

    def __init__(self, *, prior_expert: bool = False):
        self.prior_expert = bool(prior_expert)

    def plan(self, mu, logvar, mask, *, epoch=0, generator=None):
        mu_s, logvar_s, valid = subset_posteriors(mu, logvar, mask, self.prior_expert)
        return stratified_plan(mu_s, logvar_s, valid, mask)

    def joint(self, mu, logvar, mask):
        mu_s, logvar_s, valid = subset_posteriors(mu, logvar, mask, self.prior_expert)
        return mixture_moments(mu_s, logvar_s, valid)

    def config(self):
        return {"prior_expert": self.prior_expert}
