"""sweep(out=...): a sweep kept in a folder, resumed without retraining, run in this
process or as tasks on a Dask LocalCluster, also when a worker is killed mid-task."""

import json
import os
import signal
import threading
import time

import numpy as np
import pytest
import torch

import neuromix as nm
from neuromix.training.cluster import _close

FAST = {"epochs": 3, "batch_size": 64, "progress": False}


@pytest.fixture(scope="module")
def X():
    return nm.datasets.make_multiview(n_samples=300, seed=0)[0]


def _same_model(a, b, X):
    for name, tensor in b.module_.state_dict().items():
        torch.testing.assert_close(a.module_.state_dict()[name], tensor, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.transform(X)["a"], b.transform(X)["a"], rtol=1e-4, atol=1e-5)


def test_a_local_sweep_in_a_folder_writes_every_run_and_resumes(X, tmp_path):
    out = tmp_path / "sweep"
    result = nm.sweep(X, beta=[0.5, 2.0], seed=[0, 1], out=out, **FAST)
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == [f"beta={b}__seed={s}.json" for b in (0.5, 2.0) for s in (0, 1)]
    assert len(list((out / "models").glob("*.nmx"))) == 4
    separate = nm.MultimodalVAE(beta=2.0, seed=1, **FAST).fit(X)
    _same_model(result.model(beta=2.0, seed=1), separate, X)
    record = json.loads((out / "runs" / "beta=2.0__seed=1.json").read_text())
    assert record["config"] == {"beta": 2.0, "seed": 1}
    assert record["metrics"]["val_loss"] == pytest.approx(
        separate.history_["val_loss"].iloc[-1], rel=1e-5
    )
    # a rerun trains nothing; a lost run is retrained, and only it
    stamps = {p: p.stat().st_mtime_ns for p in (out / "models").iterdir()}
    (out / "runs" / "beta=0.5__seed=1.json").unlink()
    again = nm.sweep(X, beta=[0.5, 2.0], seed=[0, 1], out=out, **FAST)
    changed = [p.name for p in stamps if p.stat().st_mtime_ns != stamps[p]]
    assert changed == ["beta=0.5__seed=1.nmx"]
    np.testing.assert_allclose(
        again.dataset.val_loss.values, result.dataset.val_loss.values, rtol=1e-5
    )


def test_a_folder_of_another_setting_is_refused(X, tmp_path):
    nm.sweep(X, beta=[0.5, 2.0], out=tmp_path, **FAST)
    assert json.loads((tmp_path / "sweep.json").read_text())["fixed"]["epochs"] == 3
    with pytest.raises(
        ValueError, match=r"holds a sweep with other fixed parameters \(differing: epochs\)"
    ):
        nm.sweep(X, beta=[0.5, 2.0], out=tmp_path, **{**FAST, "epochs": 4})
    with pytest.raises(ValueError, match=r"differing: method_params"):
        nm.sweep(X, beta=[0.5, 2.0], out=tmp_path, method_params={"alpha": 0.5}, **FAST)
    # the same setting with another selection of the swept values reuses the runs
    again = nm.sweep(X, beta=[2.0, 4.0], out=tmp_path, **FAST)
    assert again.dataset.beta.values.tolist() == [2.0, 4.0]


def test_a_dask_sweep_equals_the_local_one(X, tmp_path):
    pytest.importorskip("distributed")
    local = nm.sweep(X, beta=[0.5, 2.0], seed=[0, 1], **FAST)
    remote = nm.sweep(
        X, beta=[0.5, 2.0], seed=[0, 1], engine="dask", n_workers=2, out=tmp_path, **FAST
    )
    assert remote.dataset.val_loss.dims == ("beta", "seed")
    for key, model in local.models.items():
        _same_model(remote.models[key], model, X)
    np.testing.assert_allclose(remote.dataset.loss.values, local.dataset.loss.values, rtol=1e-5)


def test_a_dask_sweep_survives_a_worker_killed_mid_task(X, tmp_path):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    params = {"epochs": 40, "batch_size": 32, "progress": False}
    try:
        with distributed.Client(cluster) as client:
            killed = []

            def kill_a_busy_worker():
                deadline = time.time() + 60
                while time.time() < deadline and not killed:
                    busy = [w for w, tasks in client.processing().items() if tasks]
                    if busy:
                        time.sleep(1.0)  # well into the task
                        pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                    time.sleep(0.05)

            killer = threading.Thread(target=kill_a_busy_worker)
            killer.start()
            result = nm.sweep(
                X,
                beta=[0.5, 2.0],
                seed=[0, 1],
                engine="dask",
                address=cluster.scheduler_address,
                out=tmp_path,
                **params,
            )
            killer.join()
    finally:
        _close(cluster)  # retried: a worker may still be restarting
    assert killed, "no worker was busy long enough to be killed"
    assert len(list((tmp_path / "runs").glob("*.json"))) == 4
    separate = nm.MultimodalVAE(beta=0.5, seed=0, **params).fit(X)
    _same_model(result.model(beta=0.5, seed=0), separate, X)


def test_dask_needs_a_folder_and_engines_are_named(X):
    with pytest.raises(ValueError, match=r'engine="dask" needs out=<folder>'):
        nm.sweep(X, beta=[0.5, 1.0], engine="dask", **FAST)
    with pytest.raises(ValueError, match=r"engine must be 'local' or 'dask', got 'ray'"):
        nm.sweep(X, beta=[0.5, 1.0], engine="ray", **FAST)
