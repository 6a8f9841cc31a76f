"""A sweep kept in a folder: each model and its metrics written as its task ends, so
that a rerun, or a task retried after its worker died, trains only what is missing;
run in this process or as tasks on a Dask cluster (:mod:`neuromix.training.cluster`).

Layout of ``out``::

    runs/<key>.json      {"key", "config" (the swept coordinates), "metrics", "seconds"}
    models/<key>.nmx     the fitted model (neuromix.load)

``<key>`` is :func:`neuromix.evaluation.sweep.run_key` of the swept coordinates. The
model is written before its metrics, each atomically: a run counts as finished when its
JSON exists.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path

import pandas as pd

from neuromix.estimators._sweep_fit import ENSEMBLE_KEYS, fit_configs
from neuromix.evaluation.sweep import record_setting, run_path, write_run

__all__ = ["run_stored"]


def _paths(out: Path, coords: dict) -> tuple[Path, Path]:
    run = run_path(out, coords)
    return run, out / "models" / f"{run.stem}.nmx"


def _finished(out: Path, coords: dict) -> bool:
    run, model = _paths(out, coords)
    return run.exists() and model.exists()


def run_task(configs, coords, names, *, data, estimator, out, evaluate, label):
    """Fit the configurations of one task that are not finished in ``out``; write each.

    Idempotent: a configuration whose files exist is skipped, so a task retried on
    another worker (its first worker killed) or a rerun sweep never retrains it.
    Returns the keys it trained.
    """
    from neuromix.estimators.neural import NeuralModel
    from neuromix.estimators.vae import MultimodalVAE

    out = Path(out)
    cls = {"NeuralModel": NeuralModel, "MultimodalVAE": MultimodalVAE}[estimator]
    todo = [i for i, c in enumerate(coords) if not _finished(out, c)]
    if not todo:
        return []
    models, rows = fit_configs(
        cls,
        data,
        [configs[i] for i in todo],
        [names[i] for i in todo],
        progress=False,
        evaluate=evaluate,
        label=label,
    )
    trained = []
    for i, model, row in zip(todo, models, rows, strict=True):
        run, path = _paths(out, coords[i])
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path, overwrite=True)  # the model first: a run counts once its JSON exists
        write_run(out, coords[i], row, row["fit_seconds"])
        trained.append(run.stem)
    return trained


def _check_folder(out: Path, estimator: str, configs, coords) -> None:
    """Refuse a folder whose runs were made with other fixed parameters (the runs are
    keyed by the swept coordinates only); record the setting in ``sweep.json``."""
    swept = set().union(*(c.keys() for c in coords))
    fixed = {k: v for k, v in configs[0].items() if k not in swept and k != "progress"}
    options = dict(fixed.pop("method_params", None) or {})
    setting = {"estimator": estimator, "fixed": fixed, "method_params": options}
    record_setting(
        out,
        setting,
        filename="sweep.json",
        expand=("fixed",),
        what="a sweep with other fixed parameters",
    )


def _tasks(indices, group_of, n_tasks_per_group: int) -> list[list[int]]:
    """The configuration indices of each task: the ``indices`` of every ensemble group
    (``group_of(index)``) split into about ``n_tasks_per_group`` equal chunks, so that
    workers share a group's models."""
    groups: dict[str, list[int]] = {}
    for i in indices:
        groups.setdefault(group_of(i), []).append(i)
    tasks = []
    for indices in groups.values():
        size = math.ceil(len(indices) / max(1, n_tasks_per_group))
        tasks += [indices[j : j + size] for j in range(0, len(indices), size)]
    return tasks


def run_stored(
    cls,
    data,
    configs,
    coords,
    names,
    *,
    out,
    engine,
    address,
    n_workers,
    progress,
    evaluate,
):
    """Run (or resume) a sweep kept in ``out``; returns the models and metric rows read
    back from the folder, in the order of ``configs``."""
    from neuromix.io.persistence import load

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _check_folder(out, cls.__name__, configs, coords)
    pending = [i for i, c in enumerate(coords) if not _finished(out, c)]
    if pending:

        def group_of(i):
            return repr([repr(configs[i].get(k)) for k in ENSEMBLE_KEYS])

        if engine == "dask":
            from neuromix.training.cluster import run_tasks

            if address is None:
                split = n_workers or os.cpu_count() or 1
            else:
                split = n_workers or 1
            chunks = _tasks(pending, group_of, int(split))
        else:
            chunks = _tasks(pending, group_of, 1)
        call = uuid.uuid4().hex[:8]  # ensembles of this call, apart from earlier calls'
        tasks = {}
        for t, chunk in enumerate(chunks):
            args = tuple([seq[i] for i in chunk] for seq in (configs, coords, names))
            tasks[t] = (run_task, args, {"label": f"{call}-task{t}."})
        shared = {"data": data, "estimator": cls.__name__, "out": str(out), "evaluate": evaluate}
        if engine == "dask":
            run_tasks(
                tasks, address=address, n_workers=n_workers, shared=shared, progress=progress
            )
        else:
            for fn, args, kwargs in tasks.values():
                fn(*args, **shared, **kwargs)
    models, rows = [], []
    for c in coords:
        run, path = _paths(out, c)
        record = json.loads(run.read_text())
        rows.append(record["metrics"])
        models.append(load(path))
    # ensembles numbered 0, 1, ... in the grid's order (their stored names are unique)
    for row, code in zip(
        rows, pd.factorize(pd.Series([r["ensemble"] for r in rows]))[0], strict=True
    ):
        row["ensemble"] = int(code)
    return models, rows
