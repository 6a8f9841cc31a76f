"""Reproductions of the paper's benchmarks (``neuromix benchmark <dataset>``).

Submodules are imported on first use: :mod:`neuromix.benchmarks.polymnist` (Figure 2,
translated PolyMNIST), :mod:`neuromix.benchmarks.alignment` (the shared space of the
simulated rats against CEBRA and classical alignment) and :mod:`neuromix.benchmarks.suite`
(the defaults on sixteen differently made datasets).
"""

from __future__ import annotations

__all__ = ["alignment", "polymnist", "suite"]


def __getattr__(name: str):
    if name in __all__:
        import importlib

        return importlib.import_module(f"neuromix.benchmarks.{name}")
    raise AttributeError(f"module 'neuromix.benchmarks' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
