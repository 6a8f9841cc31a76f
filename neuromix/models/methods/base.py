"""What every aggregation/prior method provides, and the plan it hands to the model.

A method is a small object chosen by name (see :func:`neuromix.models.get_method`). It
never sees data or networks: given the unimodal posteriors ``(mu, logvar)`` of shape
``(batch, subject, latent)`` and the ``mask`` of present subjects (the shape
convention of :mod:`neuromix.models.gaussian`), it says

* which latent distributions to sample for training (the *components*), which
  subjects each component is decoded into and with what weight, and the rate term
  (:meth:`Method.plan`);
* which latent a subset of subjects yields at inference (:meth:`Method.joint`).

The model then samples every component once, runs each subject's decoder on the
components assigned to it (all subjects together, in batched operations) and
forms ``sum_c sum_m weight[b, m, k] * nll_m(x_m | z_c) + beta * rate``.

Scale of beta
-------------
The rate of the aggregation methods (AVG, PoE, MoE, MoPoE) is one KL of their joint
posterior (for the mixtures, the mean of their components' KLs), while independent VAEs
and MMVM sum one KL per subject. The authors' code of Sutter, Meng et al. (2024) counts
the aggregated methods' joint KL once per modality, M x KL(joint || N(0, I)). A plan
therefore names the part of its rate that is such a joint KL (:attr:`Plan.joint_rate`);
with ``rate_scale="subjects"`` (:class:`~neuromix.models.vae.MultimodalModule`) the
model counts that part M times, M the number of subjects of the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from neuromix._registry import Registry

__all__ = ["METHODS", "Method", "Plan"]

#: The methods by name. Each method module adds its class with ``@METHODS.register``;
#: :mod:`neuromix.models.methods` imports them all (in the paper's order), and
#: :mod:`neuromix.models.registry` is the public face of this registry.
METHODS = Registry("method")


@dataclass(frozen=True)
class Plan:
    """What to sample, what to decode, and the rate, for one training batch.

    Attributes
    ----------
    mu, logvar : Tensor of shape (batch, component, latent)
        The latent distributions to sample once each.
    decode : Tensor of int64, shape (subject, k)
        ``decode[m]`` lists the components decoded by subject m's decoder. Every
        subject decodes the same number ``k`` of components, so that all decoders
        run together on ``(subject, batch * k, latent)``.
    weight : Tensor of shape (batch, subject, k)
        Weight of the reconstruction term ``nll_m(x_m | z_{decode[m, j]})``; zero for
        absent subjects and unused components.
    rate : Tensor of shape (batch,)
        The rate term (multiplied by beta in the objective).
    joint_rate : Tensor of shape (batch,) or None
        The part of ``rate`` that is one KL of the joint (aggregated) posterior, which
        ``rate_scale="subjects"`` counts once per subject of the model; None (the
        default) when the rate already sums over subjects (independent VAEs, MMVM).
    """

    mu: Tensor
    logvar: Tensor
    decode: Tensor
    weight: Tensor
    rate: Tensor
    joint_rate: Tensor | None = None


class Method:
    """Base class of the six methods; subclasses set ``name`` and implement two methods."""

    #: Registry name.
    name: ClassVar[str] = ""
    #: Smallest number of subjects the method is defined for.
    min_subjects: ClassVar[int] = 1
    #: Whether inference from a subset aggregates subjects into one joint latent.
    aggregates: ClassVar[bool] = True

    def plan(
        self, mu: Tensor, logvar: Tensor, mask: Tensor, *, epoch: int = 0, generator=None
    ) -> Plan:
        """Components, decoding assignment and rate for a training batch."""
        raise NotImplementedError

    def joint(self, mu: Tensor, logvar: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Gaussian latent ``(batch, latent)`` inferred from the present subjects."""
        raise NotImplementedError

    def config(self) -> dict:
        """The method's options as plain JSON-able data (for saving)."""
        return {}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({options})"
