"""One small module per method; see :mod:`neuromix.models.methods.base`.

Importing this package registers the built-in methods on
:data:`~neuromix.models.methods.base.METHODS`, in the paper's order (the order of the
imports below, which is why they are not sorted).
"""

# isort: off
from neuromix.models.methods.base import METHODS, Method, Plan
from neuromix.models.methods.independent import Independent
from neuromix.models.methods.avg import Avg
from neuromix.models.methods.poe import PoE
from neuromix.models.methods.moe import MoE
from neuromix.models.methods.mopoe import MoPoE
from neuromix.models.methods.mmvm import MMVM
# isort: on

__all__ = ["METHODS", "MMVM", "Avg", "Independent", "Method", "MoE", "MoPoE", "Plan", "PoE"]
