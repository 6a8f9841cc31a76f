"""AVG (Hosoya 2018): the joint posterior averages the subjects' means and variances."""

from __future__ import annotations

from neuromix.models.gaussian import average
from neuromix.models.methods._common import joint_component_plan
from neuromix.models.methods.base import METHODS, Method

__all__ = ["Avg"]


@METHODS.register
class Avg(Method):
    """Joint posterior N(mean_m mu_m, mean_m sigma_m^2) of the present subjects.

    One sample of the joint posterior is decoded into every present subject. Scale of
    beta: with ``rate_scale="one"`` beta multiplies KL(joint || N(0, I)); with
    ``rate_scale="subjects"`` (the authors' code of Sutter, Meng et al. 2024) it
    multiplies M KL(joint || N(0, I)), M the number of subjects of the model.

    Examples
    --------
    >>> import torch
    >>> mu = torch.tensor([[[0.0], [2.0]]]); logvar = torch.zeros(1, 2, 1)
    >>> Avg().joint(mu, logvar, torch.ones(1, 2, dtype=torch.bool))
    (tensor([[1.]]), tensor([[0.]]))
    """

    name = "avg"

    def plan(self, mu, logvar, mask, *, epoch=0, generator=None):
        return joint_component_plan(*self.joint(mu, logvar, mask), mask)

    def joint(self, mu, logvar, mask):
        return average(mu, logvar, mask)
