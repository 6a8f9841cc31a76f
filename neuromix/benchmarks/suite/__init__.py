"""The defaults on data nobody tuned them on: ``neuromix benchmark suite``.

Sixteen differently made multi-subject datasets (:mod:`.datasets`: twelve tasks of
:func:`neuromix.datasets.tasks.simulate_task`, the simulated rats at three seeds, the
multiview data), each fitted and scored on the same windows and train/test trials by

- neuromix at its defaults (MMVM and every baseline method), and MMVM at the defaults it
  had before the suite chose them;
- the minimal MMVM of the reference note (:mod:`.reference`, its own sixty lines of
  torch) at beta 1 and 10;
- CEBRA multi-session (where installed), PCA + Procrustes, the shared response model and
  the raw-window decoder (the peers of the alignment benchmark, and its scoring).

The report (:mod:`.report`) gives within-subject decoding, transfer between subjects,
the worst ordered pair and fit time per dataset and method, ``beta="auto"`` against each
fixed beta of its grid, the leave-one-dataset-out choice of the default, and the targets
of the defaults issue per dataset. :func:`~.datasets.draw_task` draws further tasks at
random over the suite's ranges, to check the defaults on data no choice has read
(``benchmarks/suite_heldout.py``).
"""

from __future__ import annotations

from neuromix.benchmarks.suite.datasets import SUITE, SuiteDataset, draw_task, make_dataset
from neuromix.benchmarks.suite.runners import prepare_data, run_one, run_suite
from neuromix.benchmarks.suite.settings import METHODS, SETTINGS, SuiteSetting, get_setting

__all__ = [
    "METHODS",
    "SETTINGS",
    "SUITE",
    "SuiteDataset",
    "SuiteSetting",
    "draw_task",
    "get_setting",
    "make_dataset",
    "prepare_data",
    "run_one",
    "run_suite",
]
