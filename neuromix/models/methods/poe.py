"""PoE (Wu & Goodman 2018): precision-weighted product of the subjects' posteriors."""

from __future__ import annotations

import torch

from neuromix.models.gaussian import kl_standard_normal, product_of_experts
from neuromix.models.methods._common import joint_component_plan
from neuromix.models.methods.base import METHODS, Method, Plan

__all__ = ["PoE"]


@METHODS.register
class PoE(Method):
    """Product of experts, with an N(0, I) expert by default.

    The joint posterior of the present subjects is q(z | X) proportional to
    [N(0, I)] prod_m q_m(z | x_m) (precision-weighted; :func:`~neuromix.models.gaussian.
    product_of_experts`). By default PoE is trained on the joint ELBO only: one sample of
    the joint posterior is decoded into every present subject, and the rate is
    KL(joint || N(0, I)). Nothing then asks a single subject's product to explain the
    data on its own.

    Scale of beta: with ``rate_scale="one"`` beta multiplies KL(joint || N(0, I)); with
    ``rate_scale="subjects"`` (the authors' code of Sutter, Meng et al. 2024) it
    multiplies M KL(joint || N(0, I)), M the number of subjects of the model. With
    ``subsampled=True`` beta multiplies, in addition and under both settings, the
    unimodal rates sum_m KL(q~_m || N(0, I)) (one per subject already).

    Parameters
    ----------
    prior_expert : bool, default=True
        Multiply in the N(0, I) expert as in Wu & Goodman (2018).
    subsampled : bool, default=False
        Train on Wu & Goodman's sub-sampled ELBO: the joint ELBO plus, for every present
        subject m, the unimodal ELBO of q~_m (the product of q_m alone, with the N(0, I)
        expert when ``prior_expert``): a sample of q~_m reconstructs x_m only, and
        KL(q~_m || N(0, I)) is added to the rate. What is implemented is the joint term
        and the M unimodal terms (the MVAE paper's "sub-sampled training" with k = 0
        random subsets, the one it keeps for more than two modalities); Wu & Goodman's
        additional ELBOs of random subsets are not.

    Examples
    --------
    >>> import torch
    >>> mu = torch.tensor([[[2.0]]]); logvar = torch.zeros(1, 1, 1)
    >>> PoE().joint(mu, logvar, torch.ones(1, 1, dtype=torch.bool))[0]  # pulled to 0
    tensor([[1.]])
    >>> plan = PoE(subsampled=True).plan(torch.zeros(4, 3, 2), torch.zeros(4, 3, 2),
    ...                                  torch.ones(4, 3, dtype=torch.bool))
    >>> plan.decode  # subject m decodes the joint (component 0) and its own q~_m
    tensor([[0, 1],
            [0, 2],
            [0, 3]])
    """

    name = "poe"

    def __init__(self, *, prior_expert: bool = True, subsampled: bool = False):
        self.prior_expert = bool(prior_expert)
        self.subsampled = bool(subsampled)

    def unimodal(self, mu, logvar):
        """Each subject's product alone, q~_m: q_m, times N(0, I) when ``prior_expert``.

        ``(batch, subject, latent)`` in and out.
        """
        if not self.prior_expert:
            return mu, logvar
        precision = torch.exp(-logvar) + 1.0
        return torch.exp(-logvar) * mu / precision, -torch.log(precision)

    def plan(self, mu, logvar, mask, *, epoch=0, generator=None):
        joint = joint_component_plan(*self.joint(mu, logvar, mask), mask)
        if not self.subsampled:
            return joint
        # components: 0 = joint posterior, 1 + m = q~_m; subject m decodes [0, 1 + m]
        mu_u, logvar_u = self.unimodal(mu, logvar)
        n_subjects = mask.shape[1]
        own = torch.arange(1, n_subjects + 1, device=mu.device).unsqueeze(1)
        decode = torch.cat([torch.zeros_like(own), own], dim=1)
        present = mask.to(mu.dtype)
        weight = torch.stack([present, present], dim=-1)  # (batch, subject, 2)
        unimodal_rate = (kl_standard_normal(mu_u, logvar_u) * present).sum(dim=1)
        return Plan(
            torch.cat([joint.mu, mu_u], dim=1),
            torch.cat([joint.logvar, logvar_u], dim=1),
            decode,
            weight,
            joint.rate + unimodal_rate,
            joint_rate=joint.rate,
        )

    def joint(self, mu, logvar, mask):
        return product_of_experts(mu, logvar, mask, prior_expert=self.prior_expert)

    def config(self):
        return {"prior_expert": self.prior_expert, "subsampled": self.subsampled}
