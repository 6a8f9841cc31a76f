"""A new subject into a fitted space: ``NeuralModel.add_subject`` and
``MultimodalVAE.add_modality``.

The fitted subjects' parameters and latents must not move, bit for bit; the new
subject must land in the shared space (checked against the task's known conditions and
against a joint fit of every subject); a model read from a file must take a subject as
the one in memory does; bad input names the subject and the field, and leaves the
model as it was.
"""

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression

import neuromix as nm
from neuromix.datasets.tasks import simulate_task
from neuromix.training.samplers import WindowSampler


def _same_weights(before: dict, module) -> None:
    after = module.state_dict()
    for k, v in before.items():
        assert torch.equal(v, after[k]), k


# ---------------------------------------------------------------- MultimodalVAE
@pytest.fixture(scope="module")
def views():
    X, truth = nm.datasets.make_multiview(n_samples=400, seed=0)
    return X, truth["z"]


def _two_view_fit(X, **kw):
    params = {"beta": 1.0, "epochs": 60, "patience": None, "progress": False, **kw}
    return nm.MultimodalVAE(**params).fit({"a": X["a"], "b": X["b"]})


def test_add_modality_trains_the_new_view_only_and_aligns_it(views):
    X, z = views
    vae = _two_view_fit(X)
    before = {k: v.clone() for k, v in vae.module_.state_dict().items()}
    latents = vae.transform({"a": X["a"], "b": X["b"]})
    history, beta = vae.history_.copy(), vae.beta_

    assert vae.add_modality("c", X) is vae
    assert vae.subjects_ == ("a", "b", "c")
    _same_weights(before, vae.module_)  # fitted parameters: bit for bit
    again = vae.transform(X)
    for s in ("a", "b"):
        np.testing.assert_array_equal(again[s], latents[s])
    # the fit's curves and beta stay; the addition's are kept apart
    assert vae.history_.equals(history) and vae.beta_ == beta
    assert set(vae.additions_) == {"c"} and len(vae.additions_["c"]["history"]) == 60
    assert all(p.requires_grad for p in vae.module_.parameters())

    # the new view's latent lies on the fitted views' latents in their coordinates (no
    # fitted map between them), and carries the true shared factor as well as theirs
    def same_place(source, target):  # R^2 of target ~ source itself
        residual = ((target - source) ** 2).sum()
        return 1 - residual / ((target - target.mean(0)) ** 2).sum()

    def r2(source, target):
        return LinearRegression().fit(source, target).score(source, target)

    assert same_place(again["c"], again["a"]) > 0.8 * same_place(again["b"], again["a"])
    # (measured: 0.95 against 0.96; 0.93 for the third view of a joint fit)
    assert r2(again["c"], z) > 0.9 * r2(again["a"], z)
    # the check can fail: the new view's encoder as initialised is nowhere near
    untrained = vae._new_networks(("c",), int(vae.seed) + 1)[0]
    with torch.no_grad():
        out = untrained([torch.as_tensor(X["c"], dtype=torch.float32)])[0][:, :2].numpy()
    assert same_place(out, again["a"]) < 0.2


@pytest.mark.parametrize("method", nm.models.available())
def test_every_method_takes_a_new_view_and_keeps_the_fitted_ones(views, method):
    # the aggregation methods' objective reads the new view through the fitted decoders
    # (their joint posterior holds it): those are frozen too
    X, _ = views
    vae = _two_view_fit(X, epochs=2, method=method)
    before = {k: v.clone() for k, v in vae.module_.state_dict().items()}
    vae.add_modality("c", X)
    _same_weights(before, vae.module_)
    assert vae.module_.recon_subjects is None
    changed = [k for k, v in vae.module_.state_dict().items() if k not in before]
    assert changed and all(k.startswith(("encoders.parts.1", "decoders.parts.1")) for k in changed)
    assert np.isfinite(vae.transform(X)["c"]).all()


def test_an_extended_model_saves_loads_and_extends_again(views, tmp_path):
    X, _ = views
    vae = _two_view_fit(X, epochs=5)
    vae.save(tmp_path / "two.nmx")
    loaded = nm.load(tmp_path / "two.nmx")
    vae.add_modality("c", X)
    loaded.add_modality("c", X)  # a model read from a file takes a subject alike
    np.testing.assert_array_equal(vae.transform(X)["c"], loaded.transform(X)["c"])
    vae.save(tmp_path / "three.nmx")
    back = nm.load(tmp_path / "three.nmx")
    assert back.subjects_ == ("a", "b", "c") and back.groups_ == (("a", "b"), ("c",))
    for s, v in vae.transform(X).items():
        np.testing.assert_array_equal(back.transform({s: X[s]})[s], v)
    assert back.additions_["c"]["history"].equals(vae.additions_["c"]["history"])
    # a fourth view (the first again under another name) after the third
    back.add_modality("d", {**X, "d": X["a"]})
    assert back.subjects_[-1] == "d" and back.groups_[-1] == ("d",)


def test_add_modality_refuses_bad_input_and_keeps_the_model(views):
    X, _ = views
    vae = _two_view_fit(X, epochs=2)
    module = vae.module_
    with pytest.raises(ValueError, match="subject 'a': already in the model"):
        vae.add_modality("a", X)
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        vae.add_modality("c", {"a": X["a"], "c": X["c"]})
    with pytest.raises(ValueError, match=r"subject 'b': X: samples of shape \(20,\)"):
        vae.add_modality("c", {"a": X["a"], "b": X["a"], "c": X["c"]})
    bad = X["c"].copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="'c'"):
        vae.add_modality("c", {**X, "c": bad})
    assert vae.subjects_ == ("a", "b") and vae.module_ is module
    assert all(p.requires_grad for p in module.parameters())
    mapped = _two_view_fit(X, epochs=2, likelihood={"a": "gaussian", "b": "gaussian"})
    with pytest.raises(ValueError, match=r"subject 'c': likelihood: .* pass likelihood="):
        mapped.add_modality("c", X)
    mapped.add_modality("c", X, likelihood="gaussian")
    assert mapped.likelihood == {"a": "gaussian", "b": "gaussian", "c": "gaussian"}


# ---------------------------------------------------------------- NeuralModel
def _task():
    rec, truth = simulate_task(
        n_subjects=4, n_units=(30, 45), trials=(20, 24), latent="fixed_points", latent_dim=2,
        private_scale=0.3, seed=5,
    )  # fmt: skip
    start = {s: round(v, 2) for s, v in truth["latency"].items()}
    stop = {s: round(v + 0.25, 2) for s, v in start.items()}
    return rec, start, stop


_PARAMS = {"label": "stimulus", "beta": 1.0, "epochs": 25, "patience": None, "progress": False}


def _fit_first_three():
    rec, start, stop = _task()
    first = list(rec)[:3]
    return nm.fit(
        {s: rec[s] for s in first},
        start={s: start[s] for s in first},
        stop={s: stop[s] for s in first},
        **_PARAMS,
    )


@pytest.fixture
def fitted(fitted_once):
    # fitted once per test run, whichever worker runs these tests (tests/conftest.py)
    def make():
        rec, start, stop = _task()
        return {"three": _fit_first_three(), "joint": nm.fit(rec, start=start, stop=stop,
                                                             **_PARAMS)}  # fmt: skip

    return fitted_once("add-subject", make)


@pytest.mark.slow
def test_an_added_subject_decodes_like_a_jointly_fitted_one(fitted, tmp_path):
    rec, start, stop = _task()
    new = list(rec)[3]
    model = nm.load(_saved(fitted["three"], tmp_path))
    before = model.latents()
    model.add_subject({new: rec[new]}, start=start[new], stop=stop[new])
    assert model.subjects_[-1] == new
    after = model.latents()
    kept = after.sel(sample=after.subject != new)
    np.testing.assert_array_equal(kept.values, before.values)  # bit for bit
    joint = fitted["joint"]
    # the same held-out and validation trials as the joint fit gives that subject
    np.testing.assert_array_equal(model.test_[new], joint.test_[new])
    np.testing.assert_array_equal(model.validation_[new], joint.validation_[new])
    added, together = model.alignment(), joint.alignment()
    others = list(rec)[:3]

    def scores(table):
        t = table["transfer"]
        both = (t.sel(train_subject=others, test_subject=new).mean()
                + t.sel(train_subject=new, test_subject=others).mean()) / 2  # fmt: skip
        return float(table["accuracy"].sel(subject=new)), float(both)

    (w_add, t_add), (w_joint, t_joint) = scores(added), scores(together)
    assert t_joint > 0.8  # four conditions: chance 0.25
    assert w_add > w_joint - 0.05 and t_add > t_joint - 0.05, (w_add, t_add, w_joint, t_joint)


def _saved(model, tmp_path):
    path = tmp_path / "three.nmx"
    model.save(path, overwrite=True)
    return path


@pytest.mark.slow
def test_add_subject_refuses_bad_input_and_keeps_the_model(fitted, tmp_path):
    rec, start, stop = _task()
    new = list(rec)[3]
    model = nm.load(_saved(fitted["three"], tmp_path))
    state = (model.subjects_, dict(model.counts_), model.vae_.module_)
    with pytest.raises(ValueError, match="add_subject adds one subject at a time"):
        model.add_subject({s: rec[s] for s in list(rec)[2:]})
    with pytest.raises(ValueError, match=r"subject 'S01': already in the model"):
        model.add_subject({"S01": rec["S01"]})
    with pytest.raises(ValueError, match=rf"subject '{new}': start/stop: .* gives 6 windows, "
                       "the fitted subjects have 16"):  # fmt: skip
        model.add_subject({new: rec[new]}, start=start[new], stop=start[new] + 0.15)
    trials = rec[new].trials
    relabelled = dataclasses.replace(
        rec[new], trials=trials.assign(stimulus=trials["stimulus"].replace("c1", "c9"))
    )
    with pytest.raises(ValueError, match=rf"subject '{new}': stimulus: conditions \['c9'\]"):
        model.add_subject({new: relabelled}, start=start[new], stop=stop[new])
    assert (model.subjects_, dict(model.counts_), model.vae_.module_) == state


@pytest.mark.slow
def test_add_subject_resumes_from_its_checkpoint(fitted, tmp_path, monkeypatch):
    rec, start, stop = _task()
    new = list(rec)[3]
    path = _saved(fitted["three"], tmp_path)
    ckpt = tmp_path / "add.ckpt"
    batches = WindowSampler.batches

    def interrupted(self, batch_size, *, shuffle, generator=None, epoch=0):
        for i, batch in enumerate(
            batches(self, batch_size, shuffle=shuffle, generator=generator, epoch=epoch)
        ):
            if shuffle and epoch == 3 and i == 1:
                raise KeyboardInterrupt
            yield batch

    def load():  # six epochs are enough to interrupt and resume
        return nm.load(path).set_params(epochs=6)

    monkeypatch.setattr(WindowSampler, "batches", interrupted)
    model = load()
    with pytest.warns(UserWarning, match=r"at epoch 3: .*add\.ckpt holds it"):
        model.add_subject({new: rec[new]}, start=start[new], stop=stop[new], checkpoint=ckpt)
    monkeypatch.undo()
    assert len(model.vae_.additions_[new]["history"]) == 3
    resumed = load().add_subject(
        {new: rec[new]}, start=start[new], stop=stop[new], checkpoint=ckpt
    )
    reference = load().add_subject({new: rec[new]}, start=start[new], stop=stop[new])
    ref = reference.vae_.module_.state_dict()
    for k, v in resumed.vae_.module_.state_dict().items():
        assert torch.equal(v, ref[k]), k
    np.testing.assert_array_equal(resumed.latents().values, reference.latents().values)
