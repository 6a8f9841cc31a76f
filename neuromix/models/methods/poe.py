"""PoE (Wu & Goodman 2018): precision-weighted product of the subjects' posteriors."""

from __future__ import annotations

from neuromix.models.gaussian import product_of_experts
from neuromix.models.methods._common import joint_component_plan
from neuromix.models.methods.base import Method
from neuromix.models.registry import register

__all__ = ["PoE"]


@register
class PoE(Method):
    """Product of experts, with an N(0, I) expert by default; rate KL(joint || N(0, I)).

    Parameters
    ----------
    prior_expert : bool, default=True
        Multiply in the N(0, I) expert as in Wu & Goodman (2018).

    Examples
    --------
    >>> import torch
    >>> mu = torch.tensor([[[2.0]]]); logvar = torch.zeros(1, 1, 1)
    >>> PoE().joint(mu, logvar, torch.ones(1, 1, dtype=torch.bool))[0]  # pulled to 0
    tensor([[1.]])
    """

    name = "poe"

    def __init__(self, *, prior_expert: bool = True):
        self.prior_expert = bool(prior_expert)

    def plan(self, mu, logvar, mask, *, epoch=0, generator=None):
        return joint_component_plan(*self.joint(mu, logvar, mask), mask)

    def joint(self, mu, logvar, mask):
        return product_of_experts(mu, logvar, mask, prior_expert=self.prior_expert)

    def config(self):
        return {"prior_expert": self.prior_expert}
