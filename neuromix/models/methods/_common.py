"""Plans shared by several methods."""

from __future__ import annotations

import torch
from torch import Tensor

from neuromix.models.gaussian import kl_standard_normal
from neuromix.models.methods.base import Plan


def own_component_plan(mu: Tensor, logvar: Tensor, mask: Tensor, rate: Tensor) -> Plan:
    """Every subject decodes a sample of its own posterior (independent VAEs, MMVM)."""
    n_subjects = mu.shape[1]
    decode = torch.arange(n_subjects, device=mu.device).unsqueeze(1)
    return Plan(mu, logvar, decode, mask.to(mu.dtype).unsqueeze(-1), rate)


def joint_component_plan(mu: Tensor, logvar: Tensor, mask: Tensor) -> Plan:
    """One joint posterior ``(batch, latent)`` decoded into every present subject (AVG, PoE)."""
    n_subjects = mask.shape[1]
    decode = torch.zeros(n_subjects, 1, dtype=torch.long, device=mu.device)
    rate = kl_standard_normal(mu, logvar)
    weight = mask.to(mu.dtype).unsqueeze(-1)
    return Plan(mu.unsqueeze(1), logvar.unsqueeze(1), decode, weight, rate, joint_rate=rate)


def stratified_plan(mu_c: Tensor, logvar_c: Tensor, valid: Tensor, mask: Tensor) -> Plan:
    """Mixture trained by stratified sampling: each valid component decodes every subject.

    ``mu_c``, ``logvar_c``: ``(batch, component, latent)``; ``valid``: ``(batch, component)``
    bool, the components that exist for this row (built from present subjects only).
    The mixture weights are uniform over valid components, so the reconstruction of
    subject m is averaged over components and the rate is mean_c KL(q_c || N(0, I)),
    the mixture's one joint rate (counted once per subject with ``rate_scale="subjects"``).
    """
    n_subjects = mask.shape[1]
    n_components = mu_c.shape[1]
    valid = valid.to(mu_c.dtype)
    share = valid / valid.sum(dim=1, keepdim=True)  # (batch, component)
    decode = torch.arange(n_components, device=mu_c.device).expand(n_subjects, n_components)
    weight = share.unsqueeze(1) * mask.to(mu_c.dtype).unsqueeze(-1)  # (batch, subject, comp)
    rate = (kl_standard_normal(mu_c, logvar_c) * share).sum(dim=1)
    return Plan(mu_c, logvar_c, decode, weight, rate, joint_rate=rate)
