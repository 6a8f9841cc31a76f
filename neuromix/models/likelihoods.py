"""Per-subject observation models p_m(x_m | z): negative log-likelihoods and means.

A likelihood turns a decoder output ``params`` of shape ``(n, *param_shape)`` and data
``x`` of shape ``(n, *shape)`` into a per-sample negative log-likelihood ``(n,)``,
summed over features (constants included, so that the numbers are true nats).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from neuromix._registry import Registry

__all__ = [
    "LIKELIHOODS",
    "Bernoulli",
    "Categorical",
    "Gaussian",
    "Laplace",
    "Likelihood",
    "Poisson",
    "get_likelihood",
    "likelihoods",
    "takes_link",
    "with_link",
]

_LOG_2PI = math.log(2.0 * math.pi)

#: The likelihoods by name; a subclass of :class:`Likelihood` is added with
#: ``@LIKELIHOODS.register`` (under its ``name``) and is then accepted wherever a
#: likelihood name is.
LIKELIHOODS = Registry("likelihood")


class Likelihood:
    """Base class; subclasses set ``name`` and implement :meth:`nll` and :meth:`mean`."""

    name: ClassVar[str] = ""

    def n_params(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the decoder output for data of per-sample ``shape``."""
        return shape

    def data_dtype(self) -> torch.dtype:
        """dtype the data is given to :meth:`nll` in."""
        return torch.float32

    def nll(self, params: Tensor, x: Tensor) -> Tensor:
        """Negative log-likelihood per sample, summed over features: ``(n,)``."""
        raise NotImplementedError

    def mean(self, params: Tensor) -> Tensor:
        """Expected value of x (what a conditional generation shows)."""
        raise NotImplementedError

    def check(self, x: np.ndarray, subject: str) -> None:
        """Raise a ValueError naming the subject when ``x`` is outside the support."""

    def config(self) -> dict:
        return {"name": self.name}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({options})"


def _flat_sum(t: Tensor) -> Tensor:
    return t.reshape(t.shape[0], -1).sum(dim=1)


class _LocationScale(Likelihood):
    """A location-scale family: the decoder output is the location (the mean); ``scale``
    (> 0) is fixed."""

    def __init__(self, *, scale: float):
        if not scale > 0:
            raise ValueError(f"{self.name} scale must be > 0, got {scale}")
        self.scale = float(scale)

    def mean(self, params):
        return params

    def config(self):
        return {"name": self.name, "scale": self.scale}


@LIKELIHOODS.register
class Gaussian(_LocationScale):
    """N(x; mu, scale^2) per feature; with fixed scale this is the squared error.

    nll = sum_j (x_j - mu_j)^2 / (2 scale^2) + log(scale) + log(2 pi) / 2.

    Examples
    --------
    >>> import torch
    >>> Gaussian().nll(torch.zeros(1, 2), torch.ones(1, 2)) - 2 * 0.5 * math.log(2 * math.pi)
    tensor([1.])
    """

    name = "gaussian"

    def __init__(self, *, scale: float = 1.0):
        super().__init__(scale=scale)

    def nll(self, params, x):
        sq = (x - params) ** 2 / (2.0 * self.scale**2)
        n_features = sq[0].numel()
        return _flat_sum(sq) + n_features * (math.log(self.scale) + 0.5 * _LOG_2PI)


@LIKELIHOODS.register
class Laplace(_LocationScale):
    """Laplace(x; mu, scale) per feature; scale 0.75 as in the paper's image experiments.

    ``nll = sum_j |x_j - mu_j| / scale + log(2 scale)``.
    """

    name = "laplace"

    def __init__(self, *, scale: float = 0.75):
        super().__init__(scale=scale)

    def nll(self, params, x):
        n_features = x[0].numel()
        return _flat_sum((x - params).abs()) / self.scale + n_features * math.log(2.0 * self.scale)


@LIKELIHOODS.register
class Poisson(Likelihood):
    """Poisson spike counts with rate lambda = link(eta) of the decoder output eta.

    nll = sum_j lambda_j - x_j log(lambda_j) + log(x_j!).

    Parameters
    ----------
    link : {"softplus", "exp"}, default="softplus"
        ``"softplus"`` grows linearly, where the canonical ``"exp"`` link grows
        exponentially: a latent drawn far out (early in training, or along a direction
        the decoder barely uses) then cannot produce overflowing rates and exploding
        gradients. ``"exp"`` is the generalised-linear model of spike counts (a
        log-rate linear in the last hidden layer); its eta is capped at 20
        (e^20 spikes per bin) so that it cannot overflow.

    Examples
    --------
    >>> import torch
    >>> eta = torch.log(torch.expm1(torch.ones(1, 1)))  # softplus(eta) = 1
    >>> Poisson().nll(eta, torch.zeros(1, 1))  # rate 1, x = 0
    tensor([1.])
    >>> Poisson(link="exp").nll(torch.zeros(1, 1), torch.zeros(1, 1))  # rate e^0 = 1
    tensor([1.])
    """

    name = "poisson"
    _LINKS = ("softplus", "exp")
    _EXP_CAP = 20.0

    def __init__(self, *, link: str = "softplus"):
        if link not in self._LINKS:
            raise ValueError(f"poisson link must be one of {self._LINKS}, got {link!r}")
        self.link = link

    def _rate_and_log_rate(self, params):
        if self.link == "exp":
            eta = params.clamp(max=self._EXP_CAP)
            return torch.exp(eta), eta
        rate = F.softplus(params)
        # log softplus(eta) -> eta in the lower tail, where softplus underflows to 0 and
        # a spike would cost -x log 0 = inf; the floor keeps the unused branch's gradient
        # finite (softplus(-15) = 3e-7 is far above it, so the used branch never meets it).
        log_rate = torch.where(params < -15.0, params, torch.log(rate.clamp(min=1e-30)))
        return rate, log_rate

    def nll(self, params, x):
        rate, log_rate = self._rate_and_log_rate(params)
        return _flat_sum(rate - x * log_rate + torch.lgamma(x + 1.0))

    def mean(self, params):
        return self._rate_and_log_rate(params)[0]

    def check(self, x, subject):
        if np.any(x < 0):
            row, col = np.argwhere(x.reshape(len(x), -1) < 0)[0]
            raise ValueError(
                f"subject {subject!r}: likelihood 'poisson' needs non-negative counts; "
                f"found {x.reshape(len(x), -1)[row, col]} at sample {row}, feature {col}"
            )

    def config(self):
        return {"name": self.name, "link": self.link}


@LIKELIHOODS.register
class Bernoulli(Likelihood):
    """Bernoulli per feature (binary or [0, 1] data); the decoder outputs logits."""

    name = "bernoulli"

    def nll(self, params, x):
        return _flat_sum(F.binary_cross_entropy_with_logits(params, x, reduction="none"))

    def mean(self, params):
        return torch.sigmoid(params)

    def check(self, x, subject):
        if np.any((x < 0) | (x > 1)):
            raise ValueError(f"subject {subject!r}: likelihood 'bernoulli' needs values in [0, 1]")


@LIKELIHOODS.register
class Categorical(Likelihood):
    """Categorical symbols (e.g. characters); data are integer codes ``(n, *shape)``.

    The decoder outputs logits ``(n, n_classes, *shape)``.

    Parameters
    ----------
    n_classes : int
        Number of symbols.
    """

    name = "categorical"

    def __init__(self, *, n_classes: int = 2):
        if int(n_classes) < 2:
            raise ValueError(f"categorical n_classes must be >= 2, got {n_classes}")
        self.n_classes = int(n_classes)

    def n_params(self, shape):
        return (self.n_classes, *shape)

    def data_dtype(self):
        return torch.long

    def nll(self, params, x):
        return _flat_sum(F.cross_entropy(params, x, reduction="none"))

    def mean(self, params):
        return torch.softmax(params, dim=1)

    def check(self, x, subject):
        if not np.issubdtype(np.asarray(x).dtype, np.integer) and np.any(x != np.round(x)):
            raise ValueError(f"subject {subject!r}: likelihood 'categorical' needs integer codes")
        if np.any((x < 0) | (x >= self.n_classes)):
            raise ValueError(
                f"subject {subject!r}: likelihood 'categorical' needs codes in "
                f"[0, {self.n_classes - 1}]"
            )

    def config(self):
        return {"name": self.name, "n_classes": self.n_classes}


def likelihoods() -> tuple[str, ...]:
    """Names of the registered likelihoods, in registration order.

    Examples
    --------
    >>> likelihoods()
    ('gaussian', 'laplace', 'poisson', 'bernoulli', 'categorical')
    """
    return LIKELIHOODS.available()


def get_likelihood(spec: str | dict | Likelihood) -> Likelihood:
    """A likelihood from a name, a config dict ``{"name": ..., **options}`` or an instance.

    Examples
    --------
    >>> get_likelihood({"name": "laplace", "scale": 0.5})
    Laplace(scale=0.5)
    >>> get_likelihood("gamma")
    Traceback (most recent call last):
    ...
    ValueError: unknown likelihood 'gamma'; available: gaussian, laplace, poisson, ...
    """
    if isinstance(spec, Likelihood):
        return spec
    options = {}
    if isinstance(spec, dict):
        options = {k: v for k, v in spec.items() if k != "name"}
        spec = spec.get("name")
    return LIKELIHOODS.get(spec, **options)


def takes_link(spec) -> bool:
    """Whether a likelihood spec is Poisson and names no link (``"poisson"``, or a dict
    without ``"link"``): the estimators' ``link`` parameter sets it. An instance has its
    own link.

    Examples
    --------
    >>> takes_link("poisson"), takes_link({"name": "poisson", "link": "exp"})
    (True, False)
    >>> takes_link("gaussian")
    False
    """
    if isinstance(spec, str):
        return spec == "poisson"
    return isinstance(spec, Mapping) and spec.get("name") == "poisson" and "link" not in spec


def with_link(spec, link: str) -> dict:
    """A Poisson spec that names no link (:func:`takes_link`), with ``link``.

    Examples
    --------
    >>> with_link("poisson", "exp")
    {'name': 'poisson', 'link': 'exp'}
    """
    return {"name": "poisson", **({} if isinstance(spec, str) else spec), "link": link}
