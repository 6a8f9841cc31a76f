"""Settings of the datasets suite: datasets, methods and the peers' options."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neuromix.benchmarks._settings import resolve_setting
from neuromix.benchmarks.suite.datasets import SUITE, get_dataset
from neuromix.evaluation.sweep import make_grid

__all__ = [
    "BASELINES",
    "METHODS",
    "PREVIOUS_DEFAULTS",
    "REFERENCES",
    "SETTINGS",
    "VAE_METHODS",
    "SuiteSetting",
    "get_setting",
]

#: neuromix at its defaults: benchmark name -> keyword arguments of the fit beyond them.
VAE_METHODS: dict[str, dict[str, Any]] = {
    "mmvm": {"method": "mmvm"},
    "independent": {"method": "independent"},
    "avg": {"method": "avg"},
    "poe": {"method": "poe"},
    "moe": {"method": "moe"},
    "mopoe": {"method": "mopoe"},
}
#: What ``neuromix.fit`` and ``MultimodalVAE`` did before the suite chose their defaults
#: (neuromix 0.1): the paper's encoder, a fixed beta, every epoch, no validation split.
PREVIOUS_DEFAULTS = {
    "recordings": {
        "architecture": "paper-mlp",
        "beta": 10.0,
        "epochs": 100,
        "patience": None,
        "validation_size": 0.0,
    },
    "arrays": {
        "architecture": "paper-mlp",
        "beta": 1.0,
        "epochs": 100,
        "patience": None,
        "validation_fraction": 0.1,
    },
}
#: The minimal MMVM of the reference note (:mod:`.reference`), at beta 1 and 10.
REFERENCES = {"reference-b1": 1.0, "reference-b10": 10.0}
#: The peers of the alignment benchmark (the raw-window decoder: within subjects only).
BASELINES = ("raw", "procrustes", "srm", "cebra")
METHODS = ("mmvm", "mmvm-previous", *REFERENCES, *BASELINES, *list(VAE_METHODS)[1:])

#: MoPoE decodes each of its 2^M - 1 subset posteriors into every one of M subjects; it
#: is not run on datasets of more subjects than this (many-subjects has 20).
MOPOE_MAX_SUBJECTS = 8

SELECTION_FIELDS = ("name", "datasets", "methods")


def _distinct(values, name, allowed) -> tuple:
    values = tuple(values)
    if not values or len(set(values)) != len(values):
        raise ValueError(f"{name} must be distinct and not empty, got {values!r}")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"unknown {name} {unknown}; choose from {', '.join(allowed)}")
    return values


@dataclass(frozen=True)
class SuiteSetting:
    """Everything that defines one run of the suite.

    Parameters
    ----------
    name : str
    datasets : tuple of str
        Names from :data:`~neuromix.benchmarks.suite.datasets.SUITE`.
    methods : tuple of str
        From :data:`METHODS`.
    seed : int
        The seed of every fit, split and decoder (the datasets have their own seeds).
    fit_params : mapping
        Keyword arguments added to every neuromix fit at the defaults (empty: the
        package defaults); ``mmvm-previous`` takes only their ``epochs``.
    data_params : mapping
        Per dataset name, generator arguments replacing the suite's (for the quick
        setting's small data).
    reference_epochs : int
        Epochs of the minimal reference (60 in the note).
    cebra_iterations, cebra_batch_size : int
        CEBRA's training iterations and batch size (its other options are the
        alignment benchmark's).
    n_boot : int
        Bootstrap draws of the intervals over held-out trials.
    cuts : str
        What the setting leaves out (for the report).

    Examples
    --------
    >>> s = get_setting("full")
    >>> len(s.datasets) >= 12, s.grid()[0]
    (True, {'dataset': 'four-subjects', 'method': 'mmvm'})
    """

    name: str
    datasets: tuple[str, ...] = tuple(d.name for d in SUITE)
    methods: tuple[str, ...] = METHODS
    seed: int = 0
    fit_params: Mapping[str, Any] = field(default_factory=dict)
    data_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    reference_epochs: int = 60
    cebra_iterations: int = 2000
    cebra_batch_size: int = 512
    n_boot: int = 500
    cuts: str = field(default="", compare=False)

    def __post_init__(self):
        object.__setattr__(
            self, "datasets", _distinct(self.datasets, "datasets", [d.name for d in SUITE])
        )
        object.__setattr__(self, "methods", _distinct(self.methods, "methods", METHODS))
        for name in ("fit_params", "data_params"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise ValueError(f"{name} must be a mapping, got {value!r}")
            object.__setattr__(self, name, dict(value))
        for name in ("reference_epochs", "cebra_iterations", "cebra_batch_size", "n_boot"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    def n_subjects(self, dataset: str) -> int:
        """How many subjects ``dataset`` has in this setting."""
        d = get_dataset(dataset)
        params = {**d.params, **self.data_params.get(dataset, {})}
        if d.kind == "rats":  # simulate_odor_sequence: all five rats, or the `subjects` named
            subjects = params.get("subjects")
            if subjects is None:
                return 5
            return 1 if isinstance(subjects, str) else len(list(subjects))
        if d.kind == "multiview":
            return len(params.get("n_features") or "abc")  # make_multiview's 3 views
        return int(params["n_subjects"])

    def skipped(self) -> dict[tuple[str, str], str]:
        """The runs left out of the grid, ``(dataset, method) -> why``: MoPoE on datasets
        of more than :data:`MOPOE_MAX_SUBJECTS` subjects."""
        out = {}
        if "mopoe" in self.methods:
            for name in self.datasets:
                m = self.n_subjects(name)
                if m > MOPOE_MAX_SUBJECTS:
                    out[name, "mopoe"] = (
                        f"MoPoE is not run on {name}: its {m} subjects make "
                        f"{2**m - 1:,} subset posteriors per sample, each decoded into "
                        f"every subject (run on datasets of at most {MOPOE_MAX_SUBJECTS})."
                    )
        return out

    def grid(self) -> list[dict]:
        """The runs ``{"dataset", "method"}``, all methods of a dataset together, less
        those :meth:`skipped` leaves out."""
        skipped = self.skipped()
        grid = make_grid(dataset=self.datasets, method=self.methods)
        return [c for c in grid if (c["dataset"], c["method"]) not in skipped]

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out.pop("cuts")
        return json.loads(json.dumps(out))


_QUICK_DATA = {
    d.name: {"trials": (6, 8), "n_units": (8, 12), "n_subjects": 3}
    for d in SUITE
    if d.kind == "task"
}
_QUICK_DATA.update(
    {
        "rats-0": {"n_trials": 40, "n_units": 8, "subjects": ("Barat", "Buchanan", "Stella")},
        "multiview": {"n_samples": 200},
    }
)

SETTINGS: dict[str, SuiteSetting] = {
    "full": SuiteSetting(
        name="full",
        cuts="nothing of the suite; one model seed per dataset (the three rat datasets "
        "are three simulator seeds).",
    ),
    "quick": SuiteSetting(
        name="quick",
        datasets=("few-trials", "rats-0", "multiview"),
        fit_params={"epochs": 3},
        data_params=_QUICK_DATA,
        reference_epochs=2,
        cebra_iterations=10,
        cebra_batch_size=64,
        n_boot=50,
        cuts="everything: a smoke test of the pipeline (3 small datasets, 3 epochs, 10 "
        "CEBRA steps); the numbers mean nothing.",
    ),
}


def get_setting(setting="full", **overrides) -> SuiteSetting:
    """A named setting (``"full"`` or ``"quick"``) with fields replaced by ``overrides``."""
    return resolve_setting(setting, SETTINGS, SuiteSetting, overrides)
