"""One small module per method; see :mod:`neuromix.models.methods.base`."""

from neuromix.models.methods.avg import Avg
from neuromix.models.methods.base import Method, Plan
from neuromix.models.methods.independent import Independent
from neuromix.models.methods.mmvm import MMVM
from neuromix.models.methods.moe import MoE
from neuromix.models.methods.mopoe import MoPoE
from neuromix.models.methods.poe import PoE

__all__ = ["MMVM", "Avg", "Independent", "Method", "MoE", "MoPoE", "Plan", "PoE"]
