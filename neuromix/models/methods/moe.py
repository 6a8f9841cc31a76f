"""MoE (Shi et al. 2019): mixture of the subjects' posteriors, stratified training."""

from __future__ import annotations

from neuromix.models.gaussian import mixture_moments
from neuromix.models.methods._common import stratified_plan
from neuromix.models.methods.base import METHODS, Method

__all__ = ["MoE"]


@METHODS.register
class MoE(Method):
    """Mixture of experts 1/M sum_m q_m.

    Trained by stratified sampling: a sample of every present q_m is decoded into
    every present subject, and the reconstruction is averaged over the components.
    Inference from a subset summarises the mixture of its subjects by its mean and
    variance.

    The rate is the mean over components of KL(q_m || N(0, I)), not the KL of the
    mixture itself (which has no closed form). By convexity of the KL it is an upper
    bound of KL(1/M sum_m q_m || N(0, I)), and exactly

        1/M sum_m KL(q_m || p) = KL(qbar || p) + 1/M sum_m KL(q_m || qbar),

    with qbar the mixture: the rate has a built-in divergence term (the generalised
    Jensen-Shannon divergence of the q_m) that pulls the subjects' posteriors together.

    Scale of beta: with ``rate_scale="one"`` beta multiplies mean_m KL(q_m || N(0, I))
    over the present subjects; with ``rate_scale="subjects"`` (the authors' code of
    Sutter, Meng et al. 2024) it multiplies M times that mean, M the number of subjects
    of the model (sum_m KL(q_m || N(0, I)) when all are present).

    Examples
    --------
    >>> import torch
    >>> mask = torch.tensor([[True, True, False]])
    >>> plan = MoE().plan(torch.zeros(1, 3, 2), torch.zeros(1, 3, 2), mask)
    >>> plan.weight[0]  # rows: decoded subject, columns: component
    tensor([[0.5000, 0.5000, 0.0000],
            [0.5000, 0.5000, 0.0000],
            [0.0000, 0.0000, 0.0000]])
    """

    name = "moe"

    def plan(self, mu, logvar, mask, *, epoch=0, generator=None):
        return stratified_plan(mu, logvar, mask, mask)

    def joint(self, mu, logvar, mask):
        return mixture_moments(mu, logvar, mask)
