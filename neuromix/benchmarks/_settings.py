"""What the benchmarks share: named settings (their folders are checked by
:func:`neuromix.evaluation.sweep.record_setting`) and the resumable run of a setting's
grid."""

from __future__ import annotations

import dataclasses
import os
import platform
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = ["resolve_setting", "run_setting"]


def resolve_setting(setting, settings: Mapping, cls: type, overrides: dict):
    """``settings[setting]`` (or ``setting`` itself, an instance of ``cls``) with fields
    replaced by ``overrides``; a modified setting is renamed ``"<name> (modified)"``.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class S:
    ...     name: str
    ...     epochs: int
    >>> resolve_setting("quick", {"quick": S("quick", 2)}, S, {"epochs": 5})
    S(name='quick (modified)', epochs=5)
    """
    if isinstance(setting, cls):
        base = setting
    elif isinstance(setting, str) and setting in settings:
        base = settings[setting]
    else:
        raise ValueError(f"unknown setting {setting!r}; choose from {', '.join(settings)}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown setting fields {unknown}; fields: {', '.join(sorted(names))}")
    if overrides and "name" not in overrides:
        overrides = {**overrides, "name": f"{base.name} (modified)"}
    return dataclasses.replace(base, **overrides)


def run_setting(
    out: Path,
    setting,
    *,
    key: Sequence[str],
    prepare: Callable,
    run: Callable,
    write_report: Callable,
    selection_fields: Sequence[str],
    cebra_check: Callable[[], str | None],
    progress: bool,
    report_only: bool,
):
    """Run (or resume, or only report) a benchmark's grid of runs, as the alignment
    benchmark and the datasets suite do.

    Records the setting in ``out`` (refusing a folder of another setting), notes the
    runs the setting leaves out of its grid (``setting.skipped()``, where it has one),
    leaves CEBRA out with a note when ``cebra_check()`` says it cannot be imported, runs
    every missing run of ``setting.grid()`` (``run(*key values, method, prepared=...)``,
    the data made once per key by ``prepare(*key values)``) or, with ``report_only``,
    names the missing runs in a note, and writes the report with
    ``write_report(out, setting, table, info)``. Returns the table of finished runs.
    """
    from neuromix.evaluation.sweep import gather, record_setting, run_sweep

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    record_setting(out, setting.to_dict(), ignore=selection_fields)
    notes = list(getattr(setting, "skipped", dict)().values())
    why = cebra_check() if "cebra" in setting.methods else None
    if why is not None:
        notes.append(f"CEBRA was skipped: `import cebra` failed ({why}).")
        warnings.warn(f"CEBRA is skipped: import cebra failed ({why})", stacklevel=3)
    grid = [c for c in setting.grid() if not (c["method"] == "cebra" and why is not None)]
    cache: dict = {}

    def run_fn(**config):
        values = tuple(config[k] for k in key)
        if cache.get("key") != values:
            cache.clear()
            cache.update(key=values, prepared=prepare(*values))
        return run(*values, config["method"], prepared=cache["prepared"])

    def name(config) -> tuple:  # a run's key and method; integral numbers as int
        values = (config[k] for k in (*key, "method"))
        return tuple(int(v) if isinstance(v, float) and v.is_integer() else v for v in values)

    start = time.perf_counter()
    if report_only:
        table = gather(out, grid=grid)
        done = {name(row) for row in table.to_dict("records")}
        missing = [c for c in grid if name(c) not in done]
        if missing:
            listing = ", ".join(
                f"{c['method']} on {c['dataset']}"
                + (f" seed {c['seed']}" if "seed" in key else "")
                for c in missing
            )
            notes.append(
                f"{len(missing)} run(s) of this setting are missing and not in the tables: "
                f"{listing}."
            )
    else:
        table = run_sweep(grid, run_fn, out, progress=progress)
    info = {
        "seconds": None if report_only else time.perf_counter() - start,
        "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "notes": notes,
    }
    write_report(out, setting, table, info)
    return table
