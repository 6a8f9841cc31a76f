"""Independent VAEs: one VAE per subject, no sharing (the paper's baseline)."""

from __future__ import annotations

from neuromix.models.gaussian import kl_standard_normal, mixture_moments
from neuromix.models.methods._common import own_component_plan
from neuromix.models.methods.base import METHODS, Method

__all__ = ["Independent"]


@METHODS.register
class Independent(Method):
    """Independent VAEs: rate sum_m KL(q_m || N(0, I)); each subject decodes its own z_m.

    Scale of beta: beta multiplies sum_m KL(q_m || N(0, I)) over the present subjects
    under both ``rate_scale`` settings (the rate already has one term per subject).

    Examples
    --------
    >>> import torch
    >>> mu, logvar = torch.zeros(4, 3, 2), torch.zeros(4, 3, 2)
    >>> Independent().plan(mu, logvar, torch.ones(4, 3, dtype=torch.bool)).rate
    tensor([0., 0., 0., 0.])
    """

    name = "independent"
    aggregates = False

    def plan(self, mu, logvar, mask, *, epoch=0, generator=None):
        rate = (kl_standard_normal(mu, logvar) * mask.to(mu.dtype)).sum(dim=1)
        return own_component_plan(mu, logvar, mask, rate)

    def joint(self, mu, logvar, mask):
        # No joint posterior exists: summarise the subjects' posteriors by the moments
        # of their equal-weight mixture.
        return mixture_moments(mu, logvar, mask)
