"""Settings of the alignment benchmark: methods, data, seeds and the peers' options."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neuromix.benchmarks._settings import resolve_setting
from neuromix.evaluation.sweep import make_grid

__all__ = [
    "AGGREGATED",
    "BASELINES",
    "DATASETS",
    "METHODS",
    "SELECTION_FIELDS",
    "SETTINGS",
    "VAE_METHODS",
    "AlignmentSetting",
    "get_setting",
]

#: neuromix methods: benchmark name -> (method, method_params merged into the defaults').
VAE_METHODS: dict[str, tuple[str, dict | None]] = {
    "mmvm-pairwise": ("mmvm", {"estimator": "pairwise"}),
    "mmvm-mc": ("mmvm", {"estimator": "mc"}),
    "independent": ("independent", None),
    "avg": ("avg", None),
    "poe": ("poe", None),
    "moe": ("moe", None),
    "mopoe": ("mopoe", None),
}
#: Methods with a joint (aggregated) posterior: fitted with ``rate_scale="subjects"``.
AGGREGATED = frozenset({"avg", "poe", "moe", "mopoe"})
#: The peers: CEBRA multi-session, PCA + generalised Procrustes, the shared response
#: model, and the raw-window decoder (within subjects only: the ceiling).
BASELINES = ("cebra", "procrustes", "srm", "raw")
METHODS = (*VAE_METHODS, *BASELINES)
DATASETS = ("rats", "multiview")
#: Fields that select runs rather than change them: a folder may hold runs of settings
#: that differ in these only.
SELECTION_FIELDS = ("name", "datasets", "methods", "seeds")


def _distinct(values, name: str, allowed=None) -> tuple:
    values = tuple(values)
    if not values or len(set(values)) != len(values):
        raise ValueError(f"{name} must be distinct and not empty, got {values!r}")
    if allowed is not None:
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise ValueError(f"unknown {name} {unknown}; choose from {', '.join(allowed)}")
    return values


def _positive_int(value, minimum: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


@dataclass(frozen=True)
class AlignmentSetting:
    """Everything that defines one run of the alignment benchmark.

    Parameters
    ----------
    name : str
    datasets : tuple of {"rats", "multiview"}
        ``"rats"``: :func:`neuromix.datasets.simulate_odor_sequence` (seed = the run's
        seed) fitted with :func:`neuromix.fit`; ``"multiview"``:
        :func:`neuromix.datasets.make_multiview` fitted with
        :class:`neuromix.MultimodalVAE`.
    methods : tuple of str
        From :data:`METHODS`.
    seeds : tuple of int
        Each seed is the simulator's, the model's, the split's and the decoder's seed.
    epochs : int or None
        Training epochs of the neuromix fits; None keeps the package defaults.
    fit_params : mapping
        Extra keyword arguments of every :func:`neuromix.fit` (rats); empty: the
        package defaults.
    vae_params : mapping
        Keyword arguments of every :class:`~neuromix.MultimodalVAE` (multiview) beyond
        its defaults; by default only ``validation_fraction=0`` (the benchmark holds
        out its own test samples). Its defaults suit the multiview data: a Gaussian
        likelihood for the real-valued views, latent size 2 (the data's shared
        dimension), beta = 1 (the ELBO), MLPs as wide as each view, 100 epochs of
        batches of 128, Adam 1e-3.
    rats, multiview : mapping
        Keyword arguments of the simulators (e.g. ``n_trials``, ``n_samples``).
    multiview_test_size : float or None
        Held-out fraction of the multiview samples (stratified by class); None: the
        ``test_size`` default of :func:`neuromix.fit`.
    cebra_iterations, cebra_batch_size, cebra_lr, cebra_architecture
        CEBRA's ``max_iterations``, ``batch_size``, ``learning_rate`` and
        ``model_architecture``; its output dimension is the neuromix latent size.
    cebra_temperature, cebra_distance, cebra_hidden
        CEBRA's ``temperature``, ``distance`` and ``num_hidden_units``.
    n_boot : int
        Bootstrap draws of the intervals over held-out trials.
    n_shuffles : int
        Label shuffles of the shuffled control of :func:`~neuromix.evaluation.
        decode_labels`.
    cuts : str
        What the setting leaves out (for the report).

    Examples
    --------
    >>> s = get_setting("full")
    >>> s.seeds, s.cebra_iterations, s.epochs is None, len(s.grid())
    ((0, 1, 2), 3000, True, 66)
    """

    name: str
    datasets: tuple[str, ...] = DATASETS
    methods: tuple[str, ...] = METHODS
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int | None = None
    fit_params: Mapping[str, Any] = field(default_factory=dict)
    vae_params: Mapping[str, Any] = field(default_factory=lambda: {"validation_fraction": 0.0})
    rats: Mapping[str, Any] = field(default_factory=dict)
    multiview: Mapping[str, Any] = field(default_factory=lambda: {"n_samples": 1000})
    multiview_test_size: float | None = None
    cebra_iterations: int = 3000
    cebra_batch_size: int = 512
    cebra_lr: float = 3e-4
    cebra_architecture: str = "offset1-model"
    cebra_temperature: float = 1.0
    cebra_distance: str = "cosine"
    cebra_hidden: int = 32
    n_boot: int = 2000
    n_shuffles: int = 10
    cuts: str = field(default="", compare=False)

    def __post_init__(self):
        object.__setattr__(self, "datasets", _distinct(self.datasets, "datasets", DATASETS))
        object.__setattr__(self, "methods", _distinct(self.methods, "methods", METHODS))
        object.__setattr__(self, "seeds", _distinct(self.seeds, "seeds"))
        if not all(_positive_int(s, 0) for s in self.seeds):
            raise ValueError(f"seeds must be non-negative integers, got {self.seeds!r}")
        if self.epochs is not None and not _positive_int(self.epochs):
            raise ValueError(f"epochs must be None or a positive integer, got {self.epochs!r}")
        for name in ("cebra_iterations", "cebra_batch_size", "cebra_hidden", "n_boot"):
            if not _positive_int(getattr(self, name)):
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not _positive_int(self.n_shuffles, 0):
            raise ValueError(f"n_shuffles must be an integer >= 0, got {self.n_shuffles!r}")
        for name in ("fit_params", "vae_params", "rats", "multiview"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise ValueError(f"{name} must be a mapping, got {value!r}")
            object.__setattr__(self, name, dict(value))
        for owner in ("fit_params", "vae_params"):
            clash = sorted(
                {"method", "seed", "progress", "subject_dim"} & set(getattr(self, owner))
            )
            if clash:
                raise ValueError(f"{owner}: {clash} are set by the benchmark itself")

    def grid(self) -> list[dict]:
        """The runs ``{"dataset", "seed", "method"}``, all methods of a seed together."""
        return make_grid(dataset=self.datasets, seed=self.seeds, method=self.methods)

    def to_dict(self) -> dict:
        """Plain JSON-able data (without ``cuts``)."""
        out = dataclasses.asdict(self)
        out.pop("cuts")
        return json.loads(json.dumps(out))

    def results_fields(self) -> dict:
        """The fields a stored run depends on (not which runs are selected)."""
        out = self.to_dict()
        for name in SELECTION_FIELDS:
            out.pop(name)
        return out


SETTINGS: dict[str, AlignmentSetting] = {
    "full": AlignmentSetting(
        name="full",
        cuts="nothing: five simulated rats with all their trials and units, three seeds.",
    ),
    "quick": AlignmentSetting(
        name="quick",
        seeds=(0,),
        epochs=2,
        rats={
            "subjects": ("Barat", "Buchanan", "Stella"),
            "n_trials": 40,
            "n_units": {"Barat": 10, "Buchanan": 8, "Stella": 6},
        },
        multiview={"n_samples": 200},
        cebra_iterations=20,
        cebra_batch_size=128,
        n_boot=200,
        n_shuffles=2,
        cuts="everything: a smoke test of the pipeline (3 rats of 40 trials and 6-10 "
        "units, 200 multiview samples, 2 epochs, 20 CEBRA steps, 1 seed); the numbers "
        "mean nothing.",
    ),
}


def get_setting(setting="full", **overrides) -> AlignmentSetting:
    """A named setting (``"full"`` or ``"quick"``) with fields replaced by ``overrides``.

    Examples
    --------
    >>> get_setting("quick", methods=("mmvm-pairwise", "raw")).methods
    ('mmvm-pairwise', 'raw')
    """
    return resolve_setting(setting, SETTINGS, AlignmentSetting, overrides)
