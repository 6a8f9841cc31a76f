"""MMVM (Sutter, Meng et al. 2024): a mixture-of-posteriors prior, no aggregation."""

from __future__ import annotations

from neuromix.models.gaussian import mixture_kl_mc, mixture_kl_pairwise, mixture_moments
from neuromix.models.methods._common import own_component_plan
from neuromix.models.methods.base import METHODS, Method

__all__ = ["MMVM"]

_ESTIMATORS = ("pairwise", "mc")


@METHODS.register
class MMVM(Method):
    """Multimodal variational mixture-of-experts prior VAE.

    Each subject keeps its posterior q_m and decoder; the prior of z_m is the
    data-dependent mixture h(z_m | X) = 1/M sum_k q_k(z_m | x_k) (Eq. 2), so the rate
    sum_m KL(q_m || h) = M JS(q_1, ..., q_M) pulls the posteriors together. Gradients
    flow through the prior into every subject's encoder.

    Scale of beta: beta multiplies sum_m KL(q_m || h) over the present subjects (as
    estimated by ``estimator``) under both ``rate_scale`` settings: the rate already has
    one term per subject.

    Parameters
    ----------
    estimator : {"pairwise", "mc"}, default="pairwise"
        ``"pairwise"``: the closed-form Jensen upper bound 1/M sum_k KL(q_m || q_k)
        (the authors' code). ``"mc"``: unbiased Monte-Carlo estimate with
        reparameterised samples and a log-sum-exp over the mixture.
    n_draws : int, default=1
        Monte-Carlo draws per subject for ``"mc"``.
    alpha : float, default=0.0
        Weight of an N(0, I) component in the prior at the start of training:
        h = alpha N(0, I) + (1 - alpha) / M sum_k q_k.
    anneal_epochs : int, default=0
        Anneal alpha linearly to 0 over this many epochs (0: keep it constant).

    Examples
    --------
    >>> import torch
    >>> mu = torch.zeros(5, 2, 3); logvar = torch.zeros(5, 2, 3)
    >>> MMVM().plan(mu, logvar, torch.ones(5, 2, dtype=torch.bool)).rate  # equal posteriors
    tensor([0., 0., 0., 0., 0.])
    >>> MMVM(alpha=1.0, anneal_epochs=10).alpha_at(5)
    0.5
    """

    name = "mmvm"
    min_subjects = 2
    aggregates = False

    def __init__(
        self,
        *,
        estimator: str = "pairwise",
        n_draws: int = 1,
        alpha: float = 0.0,
        anneal_epochs: int = 0,
    ):
        if estimator not in _ESTIMATORS:
            raise ValueError(f"MMVM estimator must be one of {_ESTIMATORS}, got {estimator!r}")
        if int(n_draws) < 1:
            raise ValueError(f"MMVM n_draws must be >= 1, got {n_draws}")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"MMVM alpha must lie in [0, 1], got {alpha}")
        if int(anneal_epochs) < 0:
            raise ValueError(f"MMVM anneal_epochs must be >= 0, got {anneal_epochs}")
        self.estimator = estimator
        self.n_draws = int(n_draws)
        self.alpha = float(alpha)
        self.anneal_epochs = int(anneal_epochs)

    def alpha_at(self, epoch: int) -> float:
        """Weight of the N(0, I) component at an epoch (linear annealing to 0)."""
        if self.anneal_epochs == 0:
            return self.alpha
        return self.alpha * max(0.0, 1.0 - epoch / self.anneal_epochs)

    def divergence(self, mu, logvar, mask, *, epoch=0, generator=None):
        """KL(q_m || h) per subject, ``(batch, subject)``, with the chosen estimator."""
        alpha = self.alpha_at(epoch)
        if self.estimator == "mc":
            return mixture_kl_mc(
                mu, logvar, mask, n_draws=self.n_draws, alpha=alpha, generator=generator
            )
        return mixture_kl_pairwise(mu, logvar, mask, alpha=alpha)

    def plan(self, mu, logvar, mask, *, epoch=0, generator=None):
        rate = self.divergence(mu, logvar, mask, epoch=epoch, generator=generator).sum(dim=1)
        return own_component_plan(mu, logvar, mask, rate)

    def joint(self, mu, logvar, mask):
        # The latent a subset yields is each subject's own q_m; as one summary, give
        # the moments of their mixture h(z | X).
        return mixture_moments(mu, logvar, mask)

    def config(self):
        return {
            "estimator": self.estimator,
            "n_draws": self.n_draws,
            "alpha": self.alpha,
            "anneal_epochs": self.anneal_epochs,
        }
