"""The shared space against the best peer: ``neuromix benchmark rats``.

On the simulated rats (:func:`neuromix.datasets.simulate_odor_sequence`) and on
:func:`neuromix.datasets.make_multiview` data, several seeds each, one run fits and
scores on the same windows and the same train/test trials:

- neuromix's MMVM (both rate estimators), independent VAEs, AVG, PoE, MoE and MoPoE at
  the package defaults (:func:`neuromix.fit`; :class:`neuromix.MultimodalVAE` for the
  multiview data);
- CEBRA multi-session, supervised by the label (skipped when ``import cebra`` fails);
- per-subject PCA + generalised Procrustes, and a shared response model;
- the raw-window decoder (within subjects), the ceiling.

Every method is decoded by :func:`neuromix.evaluation.decode_labels`; the report gives
within-subject accuracy, transfer between subjects, the worst ordered pair and chance,
with 95% intervals over held-out trials and over seeds, and checks the issue's targets.

Modules: :mod:`.settings` (what a run is), :mod:`.baselines` (the peers),
:mod:`.scoring` (decoding and intervals), :mod:`.runners` (data, runs, resume),
:mod:`.report` (tables, targets, the markdown report), :mod:`.figures`.
"""

from __future__ import annotations

from neuromix.benchmarks.alignment.runners import prepare_data, run_benchmark, run_one
from neuromix.benchmarks.alignment.settings import (
    METHODS,
    SETTINGS,
    AlignmentSetting,
    get_setting,
)

__all__ = [
    "METHODS",
    "SETTINGS",
    "AlignmentSetting",
    "get_setting",
    "prepare_data",
    "run_benchmark",
    "run_one",
]
