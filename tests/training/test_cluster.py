"""Tasks on a Dask LocalCluster of processes: a worker killed in the middle of a task is
replaced, the task is retried elsewhere, and every result arrives."""

import json
import os
import signal
import sys
import time

import pytest

distributed = pytest.importorskip("distributed")
import cloudpickle  # noqa: E402  (installed with distributed)

from neuromix.training.cluster import run_tasks  # noqa: E402

# the workers cannot import this test module: send its functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _log(folder, key, what):
    with open(os.path.join(folder, f"log-{key}"), "a") as f:
        f.write(f"{what}:{os.getpid()}\n")


def _task(key, folder, *, offset, kill_first=False):
    """Idempotent, as the sweep's tasks: return the result stored in
    ``folder/<key>.json`` if it exists, else compute ``key + offset`` and write it
    atomically. With ``kill_first``, the first attempt SIGKILLs its own worker process
    in the middle of the computation."""
    path = os.path.join(folder, f"{key}.json")
    if os.path.exists(path):  # a finished result is never recomputed
        _log(folder, key, "skip")
        with open(path) as f:
            return json.load(f)["value"]
    _log(folder, key, "start")
    time.sleep(0.2)
    if kill_first and not os.path.exists(os.path.join(folder, f"killed-{key}")):
        open(os.path.join(folder, f"killed-{key}"), "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    with open(path + ".tmp", "w") as f:
        json.dump({"value": key + offset, "pid": os.getpid()}, f)
    os.replace(path + ".tmp", path)
    _log(folder, key, "done")
    return key + offset


def test_a_killed_worker_is_replaced_and_its_task_retried(tmp_path):
    folder = str(tmp_path)
    tasks = {k: (_task, (k, folder), {"kill_first": k == 2}) for k in range(4)}
    out = run_tasks(tasks, n_workers=2, threads_per_worker=1, shared={"offset": 10})
    assert out == {k: k + 10 for k in range(4)}
    log = (tmp_path / "log-2").read_text().split()
    starts = [e.split(":")[1] for e in log if e.startswith("start:")]
    assert len(starts) == 2 and starts[0] != starts[1]  # killed once, retried elsewhere
    assert sum(e.startswith("done:") for e in log) == 1
    assert json.loads((tmp_path / "2.json").read_text())["value"] == 12
    for k in (0, 1, 3):  # computed exactly once (a result lost with the dead worker is
        # recomputed by Dask, and then read back from its file, not retrained)
        log = (tmp_path / f"log-{k}").read_text().split()
        assert sum(e.startswith("done:") for e in log) == 1


def test_no_tasks_and_bad_threads():
    assert run_tasks({}) == {}
    with pytest.raises(ValueError, match="threads_per_worker must be an integer >= 1"):
        run_tasks({"a": (max, (1, 2), {})}, threads_per_worker=0)
