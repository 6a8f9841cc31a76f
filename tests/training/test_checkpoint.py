"""A fit that is killed loses nothing: checkpoints, resuming, divergence and Ctrl-C.

The resumed fits are compared bit for bit (``torch.equal`` on every tensor of the
state_dict) with uninterrupted fits of the same seed, on the CPU and one thread.
"""

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
import torch

import neuromix as nm
from neuromix.io.persistence import read_checkpoint
from neuromix.training import loop
from neuromix.training.loop import TrainingDivergedError
from neuromix.training.samplers import ArraySampler, WindowSampler

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# MMVM with the Monte-Carlo rate (draws from the training generator) and an annealed
# alpha (a function of the epoch number): both must be restored for an exact resume.
VAE_PARAMS = {
    "method": "mmvm",
    "method_params": {"estimator": "mc", "alpha": 0.5, "anneal_epochs": 4},
    "epochs": 6,
    "batch_size": 32,
    "device": "cpu",
    "progress": False,
    "seed": 3,
}

CHILD = textwrap.dedent(
    """
    import json, sys, time
    import torch
    torch.set_num_threads(1)
    import neuromix as nm
    from neuromix.training.samplers import ArraySampler

    batches = ArraySampler.batches

    def slow_batches(self, batch_size, *, shuffle, generator=None, epoch=0):
        for i, batch in enumerate(batches(self, batch_size, shuffle=shuffle,
                                          generator=generator, epoch=epoch)):
            yield batch
            if shuffle and i == 1:
                time.sleep(0.4)  # lets the parent's SIGKILL land in the middle of an epoch

    ArraySampler.batches = slow_batches
    X, _ = nm.datasets.make_multiview(n_samples=200, seed=0)
    params = json.loads(sys.argv[2])
    nm.MultimodalVAE(**params, checkpoint=sys.argv[1], checkpoint_every=1).fit(X)
    print("finished")
    """
)


def _assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def _assert_same_history(a, b):
    cols = [c for c in a.columns if c != "seconds"]
    assert list(b.columns) == list(a.columns)
    assert a[cols].equals(b[cols])


def _epochs_in(path):
    try:
        return read_checkpoint(path)[0]["epoch"]
    except (FileNotFoundError, ValueError):
        return -1


def test_a_killed_fit_resumes_to_the_same_weights(tmp_path, monkeypatch):
    path = tmp_path / "fit.ckpt"
    root = Path(nm.__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), json.dumps(VAE_PARAMS)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while _epochs_in(path) < 1:
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert b"finished" not in out
    reached = _epochs_in(path)
    assert 1 <= reached < VAE_PARAMS["epochs"]  # killed in the middle of the fit

    X, _ = nm.datasets.make_multiview(n_samples=200, seed=0)
    trained = []
    epoch_fn = loop._epoch

    def counted(*args, **kwargs):
        if kwargs.get("optimizer") is not None:
            trained.append(kwargs["epoch"])
        return epoch_fn(*args, **kwargs)

    monkeypatch.setattr(loop, "_epoch", counted)
    resumed = nm.MultimodalVAE(**VAE_PARAMS, checkpoint=path).fit(X)
    monkeypatch.undo()
    assert trained == list(range(reached, VAE_PARAMS["epochs"]))  # only what was left
    reference = nm.MultimodalVAE(**VAE_PARAMS).fit(X)
    _assert_same_weights(resumed.module_, reference.module_)
    _assert_same_history(resumed.history_, reference.history_)
    assert len(resumed.history_) == VAE_PARAMS["epochs"]
    assert _epochs_in(path) == VAE_PARAMS["epochs"]  # written at the end too


def test_checkpoint_is_json_and_tensors_only(tmp_path):
    X, _ = nm.datasets.make_multiview(n_samples=80, seed=0)
    path = tmp_path / "fit.ckpt"
    nm.MultimodalVAE(
        batch_size=32, epochs=2, progress=False, checkpoint=path, checkpoint_every=5
    ).fit(X)
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
        tensors = torch.load(io.BytesIO(zf.read("weights.pt")), weights_only=True)
    assert config["format"] == "neuromix-checkpoint"
    assert config["epoch"] == 2 and len(config["history"]) == 2  # the end, though every=5
    assert config["subjects"] == ["a", "b", "c"]
    assert config["params"]["checkpoint"] == str(path)
    assert all(isinstance(v, torch.Tensor) for v in tensors.values())
    assert tensors["generator"].dtype == torch.uint8
    assert any(k.startswith("optimizer.") and k.endswith(".exp_avg") for k in tensors)
    with pytest.raises(ValueError, match="a training checkpoint, not a saved model"):
        nm.load(path)


def test_a_mismatching_checkpoint_is_refused(tmp_path):
    X, _ = nm.datasets.make_multiview(n_samples=80, seed=0)
    path = tmp_path / "fit.ckpt"
    nm.MultimodalVAE(batch_size=32, epochs=2, progress=False, checkpoint=path).fit(X)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="latent_dim is 2 in the checkpoint, 3 here"):
        nm.MultimodalVAE(
            batch_size=32, epochs=3, latent_dim=3, progress=False, checkpoint=path
        ).fit(X)
    with pytest.raises(ValueError, match=r"subjects are \['a', 'b', 'c'\] in the checkpoint"):
        nm.MultimodalVAE(batch_size=32, epochs=3, progress=False, checkpoint=path).fit(
            {"a": X["a"], "b": X["b"]}
        )
    with pytest.raises(ValueError, match="completed 2 epochs, more than epochs=1"):
        nm.MultimodalVAE(batch_size=32, epochs=1, progress=False, checkpoint=path).fit(X)
    with pytest.raises(ValueError, match="checkpoint_every must be an integer >= 1"):
        nm.MultimodalVAE(
            batch_size=32, epochs=3, progress=False, checkpoint=path, checkpoint_every=0
        ).fit(X)
    assert path.read_bytes() == before  # a refused checkpoint is left alone
    # what may differ: more epochs continue the fit
    more = nm.MultimodalVAE(batch_size=32, epochs=3, progress=False, checkpoint=path).fit(X)
    assert list(more.history_["epoch"]) == [0, 1, 2]
    # a finished checkpoint gives back the finished fit without training
    again = nm.MultimodalVAE(batch_size=32, epochs=3, progress=False, checkpoint=path).fit(X)
    _assert_same_weights(again.module_, more.module_)
    _assert_same_history(again.history_, more.history_)


def _interrupt(monkeypatch, sampler_cls, at_epoch):
    """Raise KeyboardInterrupt in the middle (after the first step) of a training epoch."""
    batches = sampler_cls.batches

    def interrupted(self, batch_size, *, shuffle, generator=None, epoch=0):
        it = batches(self, batch_size, shuffle=shuffle, generator=generator, epoch=epoch)
        for i, batch in enumerate(it):
            if shuffle and epoch == at_epoch and i == 1:
                raise KeyboardInterrupt
            yield batch

    monkeypatch.setattr(sampler_cls, "batches", interrupted)


def test_ctrl_c_keeps_the_last_completed_epoch(monkeypatch):
    X, _ = nm.datasets.make_multiview(n_samples=200, seed=0)
    params = {**VAE_PARAMS, "epochs": 4}
    _interrupt(monkeypatch, ArraySampler, at_epoch=2)
    vae = nm.MultimodalVAE(**params)
    with pytest.warns(UserWarning, match=r"interrupted .* at epoch 2: .* end of epoch 1"):
        assert vae.fit(X) is vae
    monkeypatch.undo()
    reference = nm.MultimodalVAE(**{**params, "epochs": 2}).fit(X)
    _assert_same_weights(vae.module_, reference.module_)
    _assert_same_history(vae.history_, reference.history_)
    assert vae.transform({"a": X["a"]})["a"].shape == (200, 2)  # usable


def test_neural_model_resumes_after_ctrl_c(monkeypatch, tmp_path):
    rec = nm.datasets.simulate_odor_sequence(seed=0, n_trials=40, n_units=10)
    params = {
        "subject_dim": "rat",
        "beta": 10.0,  # a fit that chooses beta is not resumable (one ensemble)
        "pairing": "resample",
        "epochs": 4,
        "batch_size": 128,
        "device": "cpu",
        "progress": False,
        "method_params": {"estimator": "mc", "alpha": 0.5, "anneal_epochs": 3},
    }
    path = tmp_path / "rats.ckpt"
    _interrupt(monkeypatch, WindowSampler, at_epoch=2)
    with pytest.warns(UserWarning, match=r"at epoch 2: .* end of epoch 1.*rats\.ckpt holds it"):
        interrupted = nm.fit(rec, **params, checkpoint=path)
    monkeypatch.undo()
    assert _epochs_in(path) == 2 and len(interrupted.history_) == 2
    two = nm.fit(rec, **{**params, "epochs": 2})
    _assert_same_weights(interrupted.vae_.module_, two.vae_.module_)

    resumed = nm.fit(rec, **params, checkpoint=path)
    reference = nm.fit(rec, **params)
    _assert_same_weights(resumed.vae_.module_, reference.vae_.module_)
    _assert_same_history(resumed.history_, reference.history_)
    with pytest.raises(ValueError, match="pairing is 'resample' in the checkpoint, 'min' here"):
        nm.fit(rec, **{**params, "pairing": "min"}, checkpoint=path)

    # no NaN latent is returned silently
    with torch.no_grad():
        next(resumed.vae_.module_.encoders.parameters()).fill_(float("nan"))
    with pytest.raises(FloatingPointError, match=r"subject 'Barat': .*non-finite posterior"):
        resumed.latents()


def _poison_laplace(monkeypatch, kind, at_epoch):
    """From the second training batch of ``at_epoch`` on, subject b's Laplace term (or
    only its gradient) is NaN."""
    from neuromix.models.likelihoods import Laplace

    state = {"epoch": None, "batches": 0}
    epoch_fn, nll = loop._epoch, Laplace.nll

    def tracked(*args, **kwargs):
        state["epoch"] = kwargs["epoch"] if kwargs.get("optimizer") is not None else None
        state["batches"] = 0
        return epoch_fn(*args, **kwargs)

    def poisoned(self, params, x):
        out = nll(self, params, x)
        if state["epoch"] == at_epoch:
            state["batches"] += 1
            if state["batches"] >= 2:
                if kind == "value":
                    return out * float("nan")
                # finite value, NaN gradient: d sqrt(u)/du at u = 0 times 0
                zero = (params - params.detach()).abs().reshape(len(out), -1).sum(dim=1)
                return out + 0.0 * torch.sqrt(zero)
        return out

    monkeypatch.setattr(loop, "_epoch", tracked)
    monkeypatch.setattr(Laplace, "nll", poisoned)


@pytest.mark.parametrize(
    ("kind", "term"),
    [("value", "reconstruction"), ("gradient", "gradient of the reconstruction")],
)
def test_non_finite_loss_stops_at_the_last_finite_state(monkeypatch, kind, term):
    X, _ = nm.datasets.make_multiview(n_samples=200, seed=0)
    params = {
        **VAE_PARAMS,
        "epochs": 4,
        "likelihood": {"a": "gaussian", "b": "laplace", "c": "gaussian"},
    }
    _poison_laplace(monkeypatch, kind, at_epoch=2)
    vae = nm.MultimodalVAE(**params)
    with pytest.raises(TrainingDivergedError) as info:
        vae.fit(X)
    monkeypatch.undo()
    err = info.value
    assert isinstance(err, FloatingPointError) and isinstance(err, RuntimeError)
    assert (err.epoch, err.batch, err.subject, err.term) == (2, 1, "b", term)
    message = str(err)
    assert "epoch 2 (batch 1): subject 'b': the " + term in message
    assert "end of epoch 1" in message
    reference = nm.MultimodalVAE(**{**params, "epochs": 2}).fit(X)
    _assert_same_weights(vae.module_, reference.module_)
    _assert_same_history(vae.history_, reference.history_)


def test_transform_refuses_non_finite_latents():
    X, _ = nm.datasets.make_multiview(n_samples=60, seed=0)
    vae = nm.MultimodalVAE(batch_size=32, epochs=1, progress=False).fit(X)
    with torch.no_grad():
        next(vae.module_.encoders.parameters()).fill_(float("inf"))
    match = "subject 'b': the encoder gave a non-finite posterior .* weights are not finite"
    with pytest.raises(FloatingPointError, match=match):
        vae.transform({"b": X["b"]})
    with pytest.raises(FloatingPointError, match="non-finite posterior"):
        vae.transform_joint(X)
