"""The paper's Figure 2 on PolyMNIST: ``neuromix benchmark polymnist``.

Every method (independent VAEs, AVG, PoE, MoE, MoPoE, MMVM) is fitted for every beta
and seed of a setting; each fit is scored by :func:`neuromix.evaluation.images.
evaluate_multimodal` (linear probe on unimodal latents, cross-modal coherence,
reconstruction error) and written to ``out/runs/<key>.json`` as soon as it ends, so an
interrupted benchmark resumes where it stopped. Then ``out`` receives ``table.csv``
(one row per fit), ``figure2.png`` (reconstruction error against the probe accuracy and
against coherence, one line per method through increasing beta), ``figure7.png`` (the
same against the self-reconstruction error, the paper's appendix Figure 7) and the
report ``polymnist.md``.

Settings (see :data:`SETTINGS` and :func:`get_setting`):

``"paper"``
    The paper's setting (appendix B.4): the first three modalities, beta = 2^-8 ... 2^3,
    five seeds, 500 epochs, batch 256, Adam 5e-4, Laplace likelihood of scale 0.75,
    latent size 512 and the MMVM prior's N(0, I) weight annealed from 1 to 0 (the
    authors' ``run_polymnist.sh``), all 10,000 test tuples. 360 fits; on a GPU.
``"cpu"``
    Untranslated PolyMNIST at a compute of two CPU cores for about 2.3 hours (72 fits,
    ``--jobs 2``; see :data:`SETTINGS` for what is cut): the models learn the digit.
``"cpu-translated"``
    The paper's translated PolyMNIST at the compute of an hour: under-trained (no
    method learns the digit there).
``"quick"``
    A smoke test of a few minutes; its numbers mean nothing.

Modules: :mod:`.settings` (what a run is), :mod:`.runners` (data, classifiers, fits,
resume), :mod:`.analysis` (matched and paired comparisons, summary, noise), :mod:`.figures`
(Figures 2, 7 and 6), :mod:`.report` (the markdown report).
"""

from __future__ import annotations

from neuromix.benchmarks.polymnist.analysis import matched_comparison, paired_comparison
from neuromix.benchmarks.polymnist.figures import (
    load_generations,
    plot_conditional_generation,
    plot_figure2,
    save_figure6,
)
from neuromix.benchmarks.polymnist.report import write_report
from neuromix.benchmarks.polymnist.runners import run_benchmark
from neuromix.benchmarks.polymnist.settings import (
    METHODS,
    PAPER_BETAS,
    SETTINGS,
    PolyMNISTSetting,
    get_setting,
)

__all__ = [
    "METHODS",
    "PAPER_BETAS",
    "SETTINGS",
    "PolyMNISTSetting",
    "get_setting",
    "load_generations",
    "matched_comparison",
    "paired_comparison",
    "plot_conditional_generation",
    "plot_figure2",
    "run_benchmark",
    "save_figure6",
    "write_report",
]
