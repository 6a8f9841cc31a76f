"""Tasks on a Dask distributed cluster: the engine of ``neuromix.sweep(engine="dask")``.

One call runs a list of independent tasks (a task trains one group of configurations
and writes its results; see :func:`neuromix.sweep`) on a cluster and gathers their
return values. The cluster is a :class:`distributed.LocalCluster` of processes with one
thread each by default, or the running scheduler at ``address`` (a SLURM/PBS cluster
made with dask-jobqueue, or a Kubernetes one, is used through its scheduler address).

Fault tolerance comes from two sides: the scheduler moves a task whose worker died to
another worker (up to ``allowed_failures`` deaths per task, the
``distributed.scheduler.allowed-failures`` setting, default 3), and the tasks
themselves are idempotent: they skip configurations whose result file exists and write
each result atomically, so a retried or rerun task never retrains what has finished.

``distributed`` is an optional dependency (``pip install neuromix[dask]``), imported
only here and only when a cluster is used.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

__all__ = ["import_distributed", "run_tasks"]


def import_distributed():
    """The ``distributed`` module, or an ImportError that says how to install it."""
    try:
        import distributed
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            'engine="dask" needs the optional dependency distributed: '
            "pip install 'neuromix[dask]'"
        ) from error
    return distributed


def run_tasks(
    tasks: Mapping[Hashable, tuple[Callable, Sequence, Mapping]],
    *,
    address: str | None = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    shared: Mapping[str, Any] | None = None,
    allowed_failures: int = 3,
    progress: bool = False,
) -> dict[Hashable, Any]:
    """Run independent tasks on a Dask cluster and return ``{key: result}``.

    Parameters
    ----------
    tasks : mapping of key to (function, args, kwargs)
        Each task is ``function(*args, **shared, **kwargs)``; functions must be
        importable by the workers (module-level functions of an installed package).
    address : str, optional
        A running scheduler (``"tcp://host:8786"``); else a new
        :class:`distributed.LocalCluster` of ``n_workers`` processes (default: the
        CPU count divided by ``threads_per_worker``), closed at the end.
    threads_per_worker : int, default=1
        Threads of each local worker; torch in each task uses as many.
    shared : mapping, optional
        Keyword arguments common to every task (e.g. the data), sent to the cluster once
        as a task of their own rather than once per task (not as scattered data, which a
        dead worker would lose for good).
    allowed_failures : int, default=3
        How many worker deaths a task may live through before it fails with
        ``KilledWorker`` (local clusters only; a running scheduler keeps its own
        ``distributed.scheduler.allowed-failures``).
    progress : bool, default=False
        A progress bar over tasks (``distributed.progress``).

    Returns
    -------
    dict
        The tasks' return values, by key.

    Examples
    --------
    >>> out = run_tasks({"a": (max, (1, 2), {}), "b": (min, (1, 2), {})}, n_workers=1)
    >>> out == {"a": 2, "b": 1}
    True
    """
    distributed = import_distributed()
    import dask

    if not tasks:
        return {}
    if isinstance(threads_per_worker, bool) or int(threads_per_worker) < 1:
        raise ValueError(f"threads_per_worker must be an integer >= 1, got {threads_per_worker!r}")
    cluster = None
    with dask.config.set({"distributed.scheduler.allowed-failures": int(allowed_failures)}):
        if address is None:
            n = n_workers or max(1, (os.cpu_count() or 1) // int(threads_per_worker))
            cluster = distributed.LocalCluster(
                n_workers=int(n),
                threads_per_worker=int(threads_per_worker),
                processes=True,
                dashboard_address=None,
                silence_logs=50,
            )
        try:
            with distributed.Client(address or cluster) as client:
                # shared values as tasks of their own (not scattered data): a worker that
                # dies with them is replaced, and they are rebuilt from the task
                run = uuid.uuid4().hex[:8]  # keys of this call only: a shared scheduler may
                # still hold another call's results under the same names
                common = {
                    name: client.submit(_identity, value, key=f"neuromix-{run}-shared-{name}")
                    for name, value in (shared or {}).items()
                }

                futures = {
                    key: client.submit(
                        fn, *args, **common, **kwargs, key=f"neuromix-{run}-task-{key}", pure=False
                    )
                    for key, (fn, args, kwargs) in tasks.items()
                }
                if progress:
                    distributed.progress(list(futures.values()))
                results = client.gather(list(futures.values()))
                return dict(zip(futures, results, strict=True))
        finally:
            if cluster is not None:
                _close(cluster)


def _identity(value):
    return value


def _close(cluster, attempts: int = 3) -> None:
    """Close a LocalCluster, retrying: closing while a nanny restarts a worker that just
    died can fail inside distributed ("can only join a started process"), and that
    error must not hide the task's own (a KilledWorker, say)."""
    for attempt in range(attempts):
        try:
            cluster.close(timeout=20)
            return
        except Exception:
            if attempt == attempts - 1:
                return  # its processes are this process's children: they end with it
            time.sleep(1.0)
