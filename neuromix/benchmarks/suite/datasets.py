"""The datasets of the suite: differently made multi-subject data, and how each is windowed.

Twelve tasks drawn by :func:`neuromix.datasets.tasks.simulate_task` (a generator written
for the suite, apart from the simulated rats), chosen to span what real recordings
differ in -- trials per condition from 12 to 150 and unequal across subjects, 20 to
1,000 units per subject, mean rates from 0.5 to 30 Hz, Poisson and overdispersed
spiking, 2 to 8 conditions, 2 to 20 subjects, per-subject latencies and response
durations, windows that cover more than the response, shared structure of three kinds
and 2 to 4 dimensions, private variability, a subject with a weak shared signal -- plus
the package's simulated rats at three simulator seeds and
:func:`neuromix.datasets.make_multiview`.

A task's windows start at each subject's known latency and span ``window_span``
seconds (the response lasts less: the windows cover more than the response), as a lab
that knows its latencies would set ``start`` and ``stop``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SUITE", "SuiteDataset", "draw_task", "get_dataset", "make_dataset"]


@dataclass(frozen=True)
class SuiteDataset:
    """One dataset of the suite.

    Attributes
    ----------
    name : str
    kind : {"task", "rats", "multiview"}
        Made by :func:`~neuromix.datasets.tasks.simulate_task`,
        :func:`~neuromix.datasets.simulate_odor_sequence` or
        :func:`~neuromix.datasets.make_multiview`.
    params : mapping
        Keyword arguments of that generator (``seed`` included).
    window_span : float
        Tasks: seconds of windows from each subject's latency.
    what : str
        What the dataset stands for (for the report).
    """

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    window_span: float = 0.25
    what: str = ""


def _task(name, what, span=0.25, **params) -> SuiteDataset:
    return SuiteDataset(name, "task", params, span, what)


#: The suite, in report order.
SUITE: tuple[SuiteDataset, ...] = (
    _task(
        "four-subjects", "4 subjects of 38-90 units, 4 conditions, 30-50 trials, windows "
        "over 500 ms (the setting of the defaults issue)",
        span=0.5, n_subjects=4, n_units=(38, 90), trials=(30, 50), latent="trajectory",
        latent_dim=3, rate=6.0, signal=3.0, duration=(0.3, 0.4), seed=101,
    ),
    _task(
        "few-trials", "12-20 trials per condition",
        span=0.3, n_subjects=4, n_units=(40, 90), trials=(12, 20), latent="fixed_points",
        latent_dim=2, rate=6.0, signal=1.2, seed=102,
    ),
    _task(
        "many-trials", "100-150 trials per condition, small populations, rotations",
        n_subjects=3, n_units=(20, 40), n_conditions=3, trials=(100, 150), latent="rotation",
        latent_dim=2, rate=4.0, duration=(0.25, 0.35), seed=103,
    ),
    _task(
        "large-populations", "300, 600 and 1,000 units at 2 Hz",
        n_subjects=3, n_units=[300, 600, 1000], trials=(25, 35), latent="trajectory",
        latent_dim=4, rate=2.0, signal=1.5, duration=(0.3, 0.4), seed=104,
    ),
    _task(
        "low-rates", "0.5-1.5 Hz, 5 subjects",
        span=0.4, n_subjects=5, n_units=(60, 120), trials=(30, 40), latent="fixed_points",
        latent_dim=3, rate=(0.5, 1.5), signal=2.5, seed=105,
    ),
    _task(
        "high-rates-overdispersed", "15-30 Hz, negative-binomial counts (Gamma gain "
        "variance 0.5)",
        n_subjects=4, n_units=(20, 40), trials=(25, 45), latent="rotation", latent_dim=4,
        rate=(15.0, 30.0), dispersion=0.5, signal=1.5, duration=(0.3, 0.4), seed=106,
    ),
    _task(
        "two-conditions", "2 subjects, 2 conditions, softplus rates",
        n_subjects=2, n_units=(30, 60), n_conditions=2, trials=(40, 80),
        latent="trajectory", latent_dim=2, nonlinearity="softplus", rate=5.0,
        duration=(0.3, 0.4), seed=107,
    ),
    _task(
        "eight-conditions", "8 conditions, 6 subjects, saturating rates",
        n_subjects=6, n_units=(30, 60), n_conditions=8, trials=(15, 30),
        latent="fixed_points", latent_dim=4, nonlinearity="sigmoid", rate=6.0, signal=2.5,
        seed=108,
    ),
    _task(
        "many-subjects", "20 subjects of 20-35 units",
        n_subjects=20, n_units=(20, 35), trials=(15, 25), latent="fixed_points",
        latent_dim=2, rate=6.0, seed=109,
    ),
    _task(
        "weak-subject", "one subject of four with a shared gain of 0.3, strong private "
        "variability",
        n_subjects=4, n_units=(40, 80), trials=(30, 50), latent="fixed_points",
        latent_dim=3, rate=5.0, weak=1, weak_signal=0.3, private_scale=1.0, seed=110,
    ),
    _task(
        "private-heavy", "4-dimensional private variability at gain 1.2, overdispersed",
        n_subjects=3, n_units=(30, 60), trials=(30, 50), latent="rotation", latent_dim=2,
        rate=6.0, private_dim=4, private_scale=1.2, dispersion=0.3,
        duration=(0.3, 0.4), seed=111,
    ),
    _task(
        "latency-spread", "latencies 20-500 ms and durations 200-450 ms, windows over "
        "500 ms",
        span=0.5, n_subjects=4, n_units=(30, 70), trials=(25, 40), latent="fixed_points",
        latent_dim=3, rate=5.0, latency=(0.02, 0.5), duration=(0.2, 0.45),
        trial_length=1.2, seed=112,
    ),
    SuiteDataset("rats-0", "rats", {"seed": 0}, what="the simulated rats, simulator seed 0"),
    SuiteDataset("rats-1", "rats", {"seed": 1}, what="the simulated rats, simulator seed 1"),
    SuiteDataset("rats-2", "rats", {"seed": 2}, what="the simulated rats, simulator seed 2"),
    SuiteDataset(
        "multiview", "multiview", {"n_samples": 1000, "seed": 0},
        what="make_multiview: 3 real-valued views of a 2-D class-structured factor",
    ),
)  # fmt: skip


#: Seeds of :func:`draw_task`'s generator data start here (the suite's tasks use 101-112).
DRAW_SEED = 5000


def draw_task(draw: int) -> SuiteDataset:
    """A task drawn at random over the suite's ranges: data no default was chosen on.

    Every argument of :func:`~neuromix.datasets.tasks.simulate_task` is drawn from a
    fixed distribution (fixed before any draw was fitted), so draw ``d`` is always the
    same dataset: 2-6 subjects; 2-8 conditions; the lower end of trials per condition
    log-uniform in 12-100 (at most 400 trials per subject), the upper end 1.2-1.6 times
    it (at most 150); the lower end of units log-uniform in 20-250, the upper end
    1.2-2.5 times it; the mean rate log-uniform in 0.5-30 Hz and up to twice it across
    subjects; Poisson spiking or a Gamma gain of variance 0.2-0.8 (even odds); an exp,
    softplus or sigmoid rate map; trajectories, fixed points or rotations of dimension
    2-4 at a gain of 1-3; one weak subject in three draws (of 3 or more subjects);
    private variability of dimension 1-4 at a gain of 0.2-1.2; latencies from 50 ms to
    100-500 ms; responses of 200-350 ms plus up to 200 ms; windows over 300, 400 or 500
    ms. The generator's seed is ``DRAW_SEED + draw``.

    Examples
    --------
    >>> d = draw_task(0)
    >>> d.name, d.kind, d.params["seed"], draw_task(0) == d
    ('draw-0', 'task', 5000, True)
    >>> 2 <= d.params["n_subjects"] <= 6 and 2 <= d.params["n_conditions"] <= 8
    True
    """
    rng = np.random.default_rng([DRAW_SEED, int(draw)])

    def log_uniform(low, high):
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))

    n_subjects = int(rng.integers(2, 7))
    n_conditions = int(rng.integers(2, 9))
    low_trials = min(log_uniform(12, 100), 400 / n_conditions)
    high_trials = min(low_trials * rng.uniform(1.2, 1.6), 150)
    low_units = log_uniform(20, 250)
    rate = log_uniform(0.5, 30)
    onset = rng.uniform(0.2, 0.35)
    params = {
        "n_subjects": n_subjects,
        "n_conditions": n_conditions,
        "trials": (round(low_trials), max(round(high_trials), round(low_trials) + 1)),
        "n_units": (round(low_units), round(low_units * rng.uniform(1.2, 2.5))),
        "rate": (round(rate, 2), round(rate * rng.uniform(1.0, 2.0), 2)),
        "dispersion": 0.0 if rng.random() < 0.5 else round(rng.uniform(0.2, 0.8), 2),
        "nonlinearity": str(rng.choice(["exp", "softplus", "sigmoid"])),
        "latent": str(rng.choice(["trajectory", "fixed_points", "rotation"])),
        "latent_dim": int(rng.integers(2, 5)),
        "signal": round(rng.uniform(1.0, 3.0), 2),
        "weak": int(n_subjects >= 3 and rng.random() < 1 / 3),
        "private_dim": int(rng.integers(1, 5)),
        "private_scale": round(rng.uniform(0.2, 1.2), 2),
        "latency": (0.05, round(rng.uniform(0.1, 0.5), 2)),
        "duration": (round(onset, 2), round(onset + rng.uniform(0.0, 0.2), 2)),
        "seed": DRAW_SEED + int(draw),
    }
    span = float(rng.choice([0.3, 0.4, 0.5]))
    latest = params["latency"][1]
    params["trial_length"] = round(
        max(1.0, latest + span + 0.1, latest + params["duration"][1]), 2
    )
    what = (
        f"{n_subjects} subjects of {params['n_units'][0]}-{params['n_units'][1]} units, "
        f"{n_conditions} conditions, {params['trials'][0]}-{params['trials'][1]} trials, "
        f"{params['rate'][0]}-{params['rate'][1]} Hz, {params['nonlinearity']}, "
        f"{params['latent']} ({params['latent_dim']}-D, gain {params['signal']})"
        + (f", Gamma gain {params['dispersion']}" if params["dispersion"] else "")
        + (", one weak subject" if params["weak"] else "")
        + f", windows over {int(span * 1000)} ms"
    )
    return SuiteDataset(f"draw-{int(draw)}", "task", params, span, what)


def get_dataset(name: str) -> SuiteDataset:
    for d in SUITE:
        if d.name == name:
            return d
    raise ValueError(f"unknown suite dataset {name!r}; choose from {[d.name for d in SUITE]}")


def make_dataset(dataset: SuiteDataset, overrides: Mapping[str, Any] | None = None):
    """The data of one dataset and the parameters :func:`neuromix.fit` needs for it.

    ``overrides`` replace generator arguments (the quick setting's small data).

    Returns
    -------
    data : mapping subject -> Recording (tasks, rats) or subject -> array (multiview)
    fit_params : dict
        ``subject_dim``, ``label``, and for tasks ``start``/``stop`` (the windows from
        each subject's latency over ``window_span``); for multiview the class labels
        under ``labels``.
    """
    from neuromix import datasets

    params = {**dataset.params, **(overrides or {})}
    if dataset.kind == "task":
        from neuromix.datasets.tasks import simulate_task

        rec, truth = simulate_task(**params)
        start = {s: round(v, 2) for s, v in truth["latency"].items()}
        stop = {s: round(v + dataset.window_span, 2) for s, v in start.items()}
        return rec, {"subject_dim": "subject", "label": "stimulus", "start": start, "stop": stop}
    if dataset.kind == "rats":
        return datasets.simulate_odor_sequence(**params), {
            "subject_dim": "rat",
            "label": "odor",
        }
    if dataset.kind == "multiview":
        views, truth = datasets.make_multiview(**params)
        return views, {"labels": np.asarray(truth["labels"])}
    raise ValueError(f"unknown dataset kind {dataset.kind!r}")
