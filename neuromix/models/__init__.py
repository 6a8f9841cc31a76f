"""Models: the six aggregation/prior methods, likelihoods, networks and the VAE module.

Examples
--------
>>> import neuromix as nm
>>> nm.models.available()
('independent', 'avg', 'poe', 'moe', 'mopoe', 'mmvm')
"""

from neuromix.models.likelihoods import get_likelihood, likelihoods
from neuromix.models.methods.base import Method, Plan
from neuromix.models.registry import available, get_method, register
from neuromix.models.vae import MultimodalModule

__all__ = [
    "Method",
    "MultimodalModule",
    "Plan",
    "available",
    "get_likelihood",
    "get_method",
    "likelihoods",
    "register",
]
