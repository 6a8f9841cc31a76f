"""A resumable sweep over a grid of configurations (methods x beta x seeds, or any other).

Each run's metrics are written to ``out_dir/runs/<key>.json`` the moment the run ends
(to a temporary file first, then moved into place, so a file is either complete or
absent). Rerunning the same sweep skips every run whose file exists: an interrupted
sweep resumes where it stopped and never redoes finished runs.

File layout of one run (plain JSON)::

    {"key": "method=mmvm__beta=0.25__seed=0",
     "config": {"method": "mmvm", "beta": 0.25, "seed": 0},
     "metrics": {"accuracy": 0.91, ...},
     "seconds": 812.4}

:func:`gather` reads the files back into one row per run, and :func:`to_dataset` puts
the numeric metrics of that table on named dims (``method``, ``beta``, ``seed``).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neuromix._atomic import write_atomic
from neuromix.io._json import plain

__all__ = [
    "gather",
    "make_grid",
    "missing_runs",
    "record_setting",
    "run_key",
    "run_path",
    "run_sweep",
    "to_dataset",
    "write_run",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]")


def make_grid(**axes: Sequence) -> list[dict]:
    """Every combination of the given axes, the last axis varying fastest.

    Parameters
    ----------
    **axes : sequence
        Name -> values of one axis of the grid.

    Returns
    -------
    list of dict

    Examples
    --------
    >>> make_grid(method=["avg", "mmvm"], beta=[0.5, 1.0])
    [{'method': 'avg', 'beta': 0.5}, {'method': 'avg', 'beta': 1.0}, {'method': 'mmvm', 'beta': 0.5}, {'method': 'mmvm', 'beta': 1.0}]
    """  # noqa: E501
    for name, values in axes.items():
        if isinstance(values, str) or not isinstance(values, Iterable):
            raise ValueError(f"axis {name!r} must be a sequence of values, got {values!r}")
    names = list(axes)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())]


def _format(value) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value)


def run_key(config: Mapping) -> str:
    """File-name-safe, deterministic key of one configuration (in the order of its keys).

    Examples
    --------
    >>> run_key({"method": "mmvm", "beta": 0.25, "seed": 0})
    'method=mmvm__beta=0.25__seed=0'
    >>> run_key({"name": "a b/c"})
    'name=a-b-c'
    """
    if not config:
        raise ValueError("a configuration needs at least one entry")
    return "__".join(_UNSAFE.sub("-", f"{k}={_format(v)}") for k, v in config.items())


def run_path(out_dir, config: Mapping) -> Path:
    """Where the record of the run ``config`` is kept: ``out_dir/runs/<run_key>.json``."""
    return Path(out_dir) / "runs" / f"{run_key(config)}.json"


def write_run(out_dir, config: Mapping, metrics: Mapping, seconds: float) -> Path:
    """Write one run's record (the layout of the module docstring) atomically: to a
    temporary file in the same folder, then moved into place. Returns its path."""
    path = run_path(out_dir, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "key": path.stem,
        "config": dict(config),
        "metrics": dict(metrics),
        "seconds": seconds,
    }
    text = json.dumps(record, indent=1, default=plain, allow_nan=True)
    return write_atomic(
        path,
        lambda tmp: tmp.write_text(text),
        overwrite=True,
        what=f"the metrics of run {path.stem}",
        size=len(text.encode()),
    )


def record_setting(
    out,
    setting: Mapping,
    *,
    filename: str = "setting.json",
    ignore: Collection[str] = (),
    expand: Collection[str] = (),
    what: str = "runs of another setting",
) -> Path:
    """Record in ``out/filename`` the setting its runs are made with, refusing a folder
    whose runs were made with another.

    Runs in a folder are keyed by their swept values only, so a rerun may reuse them
    only if everything else is equal. If ``out/filename`` exists, its content must equal
    ``setting`` in every top-level key but ``ignore``, else ValueError naming the keys
    that differ (for a key in ``expand``, a mapping, the keys inside it that differ).
    The setting is then written (atomically, replacing the file) and its path returned.

    Parameters
    ----------
    out : path-like
        An existing folder.
    setting : mapping
        JSON-able data (numpy values allowed).
    filename : str, default="setting.json"
    ignore : collection of str
        Keys that may differ (e.g. a name, or which results a report selects).
    expand : collection of str
        Keys holding mappings whose differing inner keys are named in the error.
    what : str
        What the folder holds when refused, for the message.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> record_setting(out, {"name": "quick", "epochs": 1}).name
    'setting.json'
    >>> record_setting(out, {"name": "mine", "epochs": 1}, ignore=("name",)).name
    'setting.json'
    >>> record_setting(out, {"name": "quick", "epochs": 2}, ignore=("name",))
    Traceback (most recent call last):
    ...
    ValueError: ... (differing: epochs); use another output folder or remove it
    """
    current = json.loads(json.dumps(dict(setting), default=plain, sort_keys=True))
    path = Path(out) / filename
    if path.exists():
        stored = json.loads(path.read_text())
        differ = []
        for key in sorted(set(stored) | set(current)):
            old, new = stored.get(key), current.get(key)
            if key in ignore or old == new:
                continue
            if key in expand and isinstance(old, dict) and isinstance(new, dict):
                differ += sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
            else:
                differ.append(key)
        if differ:
            raise ValueError(
                f"{path.parent} holds {what} (differing: {', '.join(differ)}); "
                "use another output folder or remove it"
            )
    text = json.dumps(current, indent=1, sort_keys=True)
    write_atomic(path, lambda tmp: tmp.write_text(text), overwrite=True, what=f"the {filename}")
    return path


def _check_grid(grid: Sequence[Mapping]) -> list[tuple[str, dict]]:
    grid = list(grid)
    if not grid:
        raise ValueError("the grid is empty")
    keys: dict[str, dict] = {}
    for config in grid:
        if not isinstance(config, Mapping):
            raise ValueError(f"every grid entry must be a dict, got {config!r}")
        key = run_key(config)
        if key in keys:
            raise ValueError(f"two grid entries share the key {key!r}: {keys[key]} and {config}")
        keys[key] = dict(config)
    return list(keys.items())


def missing_runs(grid: Sequence[Mapping], out_dir) -> list[dict]:
    """The configurations of ``grid`` without a run record in ``out_dir`` yet, in order.

    Raises
    ------
    ValueError
        An empty grid, entries that are not dicts or that share a key, or a run file
        whose stored configuration differs from the grid's (a stale output folder).

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> grid = make_grid(seed=[0, 1])
    >>> _ = write_run(out, grid[0], {"score": 1.0}, seconds=0.1)
    >>> missing_runs(grid, out)
    [{'seed': 1}]
    """
    todo = []
    for _, config in _check_grid(grid):
        path = run_path(out_dir, config)
        if not path.exists():
            todo.append(config)
            continue
        stored = json.loads(path.read_text())["config"]
        if stored != json.loads(json.dumps(config, default=plain)):
            raise ValueError(
                f"{path} holds the configuration {stored}, not {config}: remove it or "
                "use another output folder"
            )
    return todo


def run_sweep(
    grid: Sequence[Mapping],
    run_fn: Callable[..., Mapping],
    out_dir,
    *,
    progress: bool = True,
) -> pd.DataFrame:
    """Run ``run_fn(**config)`` for every configuration of ``grid`` not already done.

    Parameters
    ----------
    grid : sequence of dict
        Configurations (see :func:`make_grid`); values must be JSON-able scalars.
    run_fn : callable
        ``run_fn(**config) -> dict`` of metrics (JSON-able scalars or arrays).
    out_dir : str or path-like
        Output folder; runs go to ``out_dir/runs/<key>.json``.
    progress : bool
        Show a progress bar over the runs.

    Returns
    -------
    pandas.DataFrame
        :func:`gather` of the runs of ``grid``: one row per run.

    Raises
    ------
    ValueError
        An empty grid, entries that are not dicts or that share a key, or a run file
        whose stored configuration differs from the grid's (a stale output folder).

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> grid = make_grid(method=["avg", "mmvm"], seed=[0, 1])
    >>> table = run_sweep(grid, lambda method, seed: {"score": seed + 0.5}, out, progress=False)
    >>> table[["method", "seed", "score"]]
       method  seed  score
    0     avg     0    0.5
    1     avg     1    1.5
    2    mmvm     0    0.5
    3    mmvm     1    1.5
    >>> calls = []
    >>> _ = run_sweep(grid, lambda **c: calls.append(c) or {}, out, progress=False)
    >>> calls  # everything was done already
    []
    """
    from tqdm.auto import tqdm

    runs = _check_grid(grid)
    (Path(out_dir) / "runs").mkdir(parents=True, exist_ok=True)
    todo = missing_runs(grid, out_dir)
    bar = tqdm(
        todo, disable=not progress, unit="run", desc=f"sweep ({len(runs) - len(todo)} done)"
    )
    for config in bar:
        if run_path(out_dir, config).exists():  # finished meanwhile by another process
            continue
        bar.set_postfix_str(run_key(config))
        start = time.perf_counter()
        metrics = run_fn(**config)
        if not isinstance(metrics, Mapping):
            raise TypeError(f"run_fn must return a dict of metrics, got {type(metrics).__name__}")
        write_run(out_dir, config, metrics, time.perf_counter() - start)
    return gather(out_dir, grid=[config for _, config in runs])


def gather(out_dir, *, grid: Sequence[Mapping] | None = None) -> pd.DataFrame:
    """The finished runs of a sweep folder as one table.

    Parameters
    ----------
    out_dir : str or path-like
        The folder given to :func:`run_sweep`.
    grid : sequence of dict, optional
        Only these configurations (in this order); default every run file found, sorted
        by key.

    Returns
    -------
    pandas.DataFrame
        One row per run: the configuration's entries, then every metric, then
        ``seconds`` (wall time of the run). Metrics holding arrays stay in object
        columns.

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> _ = run_sweep([{"beta": 1.0}], lambda beta: {"loss": 2 * beta}, out, progress=False)
    >>> gather(out).columns.tolist()
    ['beta', 'loss', 'seconds']
    """
    folder = Path(out_dir) / "runs"
    if grid is None:
        paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    else:
        paths = [folder / f"{key}.json" for key, _ in _check_grid(grid)]
        paths = [p for p in paths if p.exists()]
    rows, config_cols, metric_cols = [], {}, {}
    for path in paths:
        record = json.loads(path.read_text())
        config_cols.update(dict.fromkeys(record["config"]))
        metric_cols.update(dict.fromkeys(record["metrics"]))
        rows.append({**record["config"], **record["metrics"], "seconds": record["seconds"]})
    columns = [*config_cols, *(m for m in metric_cols if m not in config_cols), "seconds"]
    return pd.DataFrame(rows, columns=columns if rows else None)


def to_dataset(
    table: pd.DataFrame, dims: Sequence[str] = ("method", "beta", "seed")
) -> xr.Dataset:
    """The numeric metrics of a sweep table on named dims (missing runs are NaN).

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`gather` or :func:`run_sweep`.
    dims : sequence of str
        Configuration columns that become dimensions; together they must identify a
        run.

    Returns
    -------
    xarray.Dataset
        One variable per numeric column that is not a dim (``seconds`` included).

    Examples
    --------
    >>> table = pd.DataFrame({"method": ["avg", "mmvm"], "beta": [1.0, 1.0],
    ...                       "seed": [0, 0], "accuracy": [0.5, 0.9]})
    >>> ds = to_dataset(table)
    >>> ds.accuracy.sel({"method": "mmvm"}).values.tolist()  # sel(method=) is sel's own keyword
    [[0.9]]
    """
    missing = [d for d in dims if d not in table.columns]
    if missing:
        raise ValueError(f"dims {missing} are not columns of the table {list(table.columns)}")
    if table.duplicated(subset=list(dims)).any():
        raise ValueError(f"the dims {list(dims)} do not identify one run per row")
    values = [
        c for c in table.columns if c not in dims and pd.api.types.is_numeric_dtype(table[c])
    ]
    ds = table.set_index(list(dims))[values].to_xarray()
    ds.attrs["description"] = "metrics of a sweep, one value per run (NaN: run missing)"
    return ds
