import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session", autouse=True)
def _threads_per_worker(worker_id):
    """Under pytest-xdist, the cores shared out between the workers: torch's default of
    one thread per core in every worker oversubscribes the machine (``make test``'s two
    workers on two cores ran the suite in 751 s at two threads each, 402 s at one)."""
    if worker_id == "master":
        yield
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, (cores or 1) // workers))
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def one_torch_thread():
    """Small convolutions on a shared 2-core machine run several times faster on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def fitted_once(tmp_path_factory, worker_id):
    """``fitted_once(name, make)``: the models ``make()`` returns (a dict name -> model),
    fitted by the first test process that asks and loaded from disk by the others.

    pytest-xdist's ``xdist_group`` does not keep a module's tests on one worker here
    (pytest-xdist 3.8), so each worker would make a module's slow fits again; this is
    the file-lock pattern of pytest-xdist's documentation. filelock comes with torch.
    """
    from filelock import FileLock

    import neuromix as nm

    # under xdist, the run's folder that every worker's own folder lies in; without it
    # (worker "master") that parent would outlive the run: nothing is kept on disk then
    root = tmp_path_factory.getbasetemp().parent
    cache: dict = {}

    def get(name, make):
        if name in cache:
            return cache[name]
        if worker_id == "master":
            cache[name] = make()
            return cache[name]
        folder = root / f"fitted-{name}"
        with FileLock(str(root / f"fitted-{name}.lock")):
            done = folder / "done"
            if done.exists():
                models = {m: nm.load(folder / f"{m}.nmx") for m in done.read_text().split()}
            else:
                models = make()
                folder.mkdir(exist_ok=True)
                for m, model in models.items():
                    model.save(folder / f"{m}.nmx")
                done.write_text(" ".join(models))
        cache[name] = models
        return models

    return get


@pytest.fixture(scope="module")
def three_rats():
    """Three simulated rats of 6 units, 40 trials: small enough for many short fits
    (made once per test module)."""
    import neuromix as nm

    return nm.datasets.simulate_odor_sequence(
        seed=0, n_trials=40, n_units=6, subjects=("Barat", "Buchanan", "Stella")
    )


@pytest.fixture(scope="module")
def script(request):
    """The script ``benchmarks/<SCRIPT_NAME>.py`` of the requesting test module (its
    ``SCRIPT_NAME``), imported as a module."""
    name = request.module.SCRIPT_NAME
    path = Path(__file__).parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
