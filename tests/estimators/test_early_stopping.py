"""Validation trials carved from the training trials, early stopping, and beta="auto"."""

import numpy as np
import pandas as pd
import pytest
import torch

import neuromix as nm
from neuromix.estimators.vae import BETA_GRID
from neuromix.training.criteria import cross_metrics

# one Poisson link: these tests are of beta's candidates and early stopping (link="auto"
# doubles the candidates: tests/estimators/test_link.py)
FAST = {"progress": False, "batch_size": 64, "link": "softplus"}


@pytest.fixture(scope="module")
def rec(three_rats):
    return three_rats


def _weights(module):
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()])


def test_validation_trials_are_training_trials_stratified_and_never_test(rec):
    model = nm.fit(rec, subject_dim="rat", epochs=1, beta=1.0, **FAST)
    for s in model.subjects_:
        test, val = model.test_[s], model.validation_[s]
        assert not (test & val).any()
        train = ~test
        assert 0.1 < val.sum() / train.sum() < 0.3  # validation_size=0.2 of training trials
        odors = pd.Series(model.counts_[s].odor.values)
        common = odors[train].value_counts()
        common = set(common[common >= 5].index)  # stratified: their share is >= 1 trial
        assert common <= set(odors[val])
    parts = {"train": None, "validation": None, "test": None}
    for part in parts:
        pairs = model.pairs_[part]
        for s in model.subjects_:
            trials = pd.Series(model.counts_[s].trial.values)
            chosen = trials.isin(pairs[s]).to_numpy()
            expected = model._part(s, part)
            assert not (chosen & ~expected).any(), (part, s)
    # the validation pairs use every validation trial of the odors every subject has
    # validation trials of (resampled to the largest count)
    odors = {s: model.counts_[s].odor.values[model.validation_[s]] for s in model.subjects_}
    shared = set.intersection(*(set(v) for v in odors.values()))
    for s in model.subjects_:
        ids = model.counts_[s].trial.values[model.validation_[s]]
        keep = np.isin(odors[s], list(shared))
        assert set(model.pairs_["validation"][s]) == set(ids[keep])


def test_validation_size_zero_trains_on_every_training_trial(rec):
    model = nm.fit(
        rec, subject_dim="rat", epochs=1, beta=1.0, patience=None, validation_size=0.0, **FAST
    )
    assert all(not v.any() for v in model.validation_.values())
    assert "val_loss" not in model.vae_.history_


def test_early_stopping_keeps_the_best_epoch_of_an_uninterrupted_fit(rec):
    """Stopped at epoch e with its best at b, the model equals a fit of b + 1 epochs."""
    common = dict(subject_dim="rat", beta=2.0, seed=3, criterion="cross", **FAST)
    stopped = nm.fit(rec, epochs=60, patience=2, min_epochs=3, **common)
    history = stopped.history_
    best = stopped.vae_.best_epoch_
    column = history["val_cross"].to_numpy()
    assert best == 3 + int(np.argmin(column[3:]))  # the epochs before min_epochs never count
    assert len(history) == best + 1 + 2 or len(history) == 60  # stopped after patience
    assert history["best"].to_numpy()[best]
    plain = nm.fit(rec, epochs=best + 1, patience=None, **common)
    assert torch.allclose(_weights(stopped.vae_.module_), _weights(plain.vae_.module_))


def test_cross_matrix_is_each_subject_predicted_from_each_latent_mean():
    """cross_nll against a loop that decodes one (source, target) pair at a time."""
    X, _ = nm.datasets.make_multiview(n_samples=60, seed=1)
    vae = nm.MultimodalVAE(epochs=1, progress=False, batch_size=16).fit(X)
    module = vae.module_
    xs = [torch.as_tensor(X[s]) for s in vae.subjects_]
    with torch.no_grad():
        mu, _, _ = module.encode(xs)
        params = module._networks(module.decoders, module.cross_inputs(mu))
        matrix = module.cross_nll(xs, params)
        for m in range(3):
            for k in range(3):
                out = module.likelihood_params(mu[:, m], subjects=[k])[k]
                expected = module.likelihoods[k].nll(out, xs[k]).sum()
                assert torch.allclose(matrix[m, k], expected, rtol=1e-5)
    metrics = cross_metrics(matrix / 60)
    off = ~torch.eye(3, dtype=torch.bool)
    assert metrics["cross"] == pytest.approx(float(matrix[off].mean() / 60))


def test_cross_sources_are_capped_beyond_five_subjects():
    X = {
        f"s{i}": np.random.default_rng(i).normal(size=(12, 3)).astype("float32") for i in range(7)
    }
    vae = nm.MultimodalVAE(epochs=1, progress=False, batch_size=8).fit(X)
    sources = vae.module_.cross_sources()
    assert [len(s) for s in sources] == [5] * 7  # itself and the 4 next ones
    assert sources[5] == [5, 6, 0, 1, 2]
    xs = [torch.as_tensor(X[s]) for s in vae.subjects_]
    with torch.no_grad():
        mu, _, _ = vae.module_.encode(xs)
        matrix = vae.module_.cross_nll(
            xs, vae.module_._networks(vae.module_.decoders, vae.module_.cross_inputs(mu))
        )
    computed = ~torch.isnan(matrix)
    assert int(computed.sum()) == 7 * 5 and bool(computed.diagonal().all())
    # entry (m, k) as its own decoding: subject k's decoder on subject m's means
    out = vae.module_.likelihood_params(mu[:, 0], subjects=[5])[5]
    expected = vae.module_.likelihoods[5].nll(out, xs[5]).sum()
    assert torch.allclose(matrix[0, 5], expected, rtol=1e-5)
    assert torch.isnan(matrix[6, 1])  # 6 is not one of subject 1's sources


def test_beta_auto_keeps_the_candidate_with_the_best_validation_criterion(rec):
    betas = [0.5, 4.0, 32.0]
    model = nm.fit(
        rec, subject_dim="rat", beta=betas, epochs=8, patience=3, min_epochs=0, seed=1,
        halving=False, **FAST,
    )  # fmt: skip
    sel = model.vae_.beta_selection_
    assert sel["beta"].values.tolist() == betas
    scores = sel["score"].values
    assert model.vae_.beta_ == betas[int(np.argmin(scores))] == sel.attrs["chosen_beta"]
    trained = sel["epochs_trained"].values.astype(int)
    # none trained 3 epochs (patience) past the epoch of the best criterion of all
    overall = int(sel["best_epoch"].values[int(np.argmin(scores))])
    assert trained.max() <= overall + 3 + 1
    # each candidate is the separate fit at that beta for the epochs it was trained
    # (ensemble = separate fits; a candidate cut by the shared rule = a shorter fit)
    for k, beta in enumerate(betas):
        single = nm.fit(
            rec, subject_dim="rat", beta=beta, epochs=int(trained[k]), patience=3, min_epochs=0,
            seed=1, **FAST,
        )  # fmt: skip
        assert single.vae_.best_epoch_ == int(sel["best_epoch"].values[k])
        assert float(single.history_["val_decode"].min()) == pytest.approx(scores[k], rel=1e-4)
        assert torch.allclose(
            _weights(model.vae_._candidates[k]), _weights(single.vae_.module_), atol=1e-4
        )
    chosen = int(np.argmin(scores))
    assert torch.equal(_weights(model.vae_.module_), _weights(model.vae_._candidates[chosen]))
    # stored, drawn, saved
    fig = model.plot_beta_selection()
    assert len(fig.axes) == 2
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_beta_selection_survives_save_and_load(rec, tmp_path):
    model = nm.fit(rec, subject_dim="rat", beta=[1.0, 8.0], epochs=3, patience=1, **FAST)
    path = model.save(tmp_path / "m.nmx")
    back = nm.load(path)
    assert back.vae_.beta_ == model.vae_.beta_
    assert back.vae_.best_epoch_ == model.vae_.best_epoch_
    np.testing.assert_allclose(
        back.vae_.beta_selection_["score"].values, model.vae_.beta_selection_["score"].values
    )
    np.testing.assert_allclose(back.latents().values, model.latents().values)
    assert {s: v.tolist() for s, v in back.validation_.items()} == {
        s: v.tolist() for s, v in model.validation_.items()
    }


def test_default_grid_is_the_documented_one():
    assert BETA_GRID == (1.0, 4.0, 16.0)


def test_plot_training_marks_the_kept_epoch(rec):
    model = nm.fit(rec, subject_dim="rat", beta=1.0, epochs=6, patience=2, **FAST)
    fig = model.plot_training()
    titles = [ax.get_title() for ax in fig.axes]
    criterion = {"cross": "prediction from latent means", "decode": "decoding accuracy"}
    assert titles == ["loss", "reconstruction and rate", criterion[model.criterion]]
    marks = [line for line in fig.axes[0].lines if line.get_linestyle() == ":"]
    assert any(np.allclose(m.get_xdata(), model.vae_.best_epoch_) for m in marks)
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"beta": "automatic"}, "beta"),
        ({"beta": []}, "beta"),
        ({"beta": [1.0, 1.0]}, "beta"),
        ({"beta": -1.0}, "beta"),
        ({"patience": 0}, "patience"),
        ({"criterion": "accuracy"}, "criterion"),
        ({"validation_size": 0.7}, "validation_size"),
        ({"validation_size": 0.0, "beta": "auto"}, "validation"),
        ({"validation_size": 0.0, "beta": 1.0, "patience": 5}, "validation"),
        ({"beta": "auto", "checkpoint": "x.ckpt"}, "checkpoint"),
    ],
)
def test_bad_selection_parameters_are_refused(rec, tmp_path, params, match):
    if "checkpoint" in params:
        params = {**params, "checkpoint": tmp_path / params["checkpoint"]}
    with pytest.raises(ValueError, match=match):
        nm.fit(rec, subject_dim="rat", epochs=1, **FAST, **params)


def _tiny(odors):
    rng = np.random.default_rng(0)
    n = len(odors)
    trials = pd.DataFrame(
        {"start_time": np.arange(n) * 2.0, "stop_time": np.arange(n) * 2.0 + 1.0, "odor": odors}
    )
    return {
        s: nm.from_arrays(
            [np.sort(rng.uniform(0, 2 * n, 200)) for _ in range(3)], trials, subject=s
        )
        for s in ("R1", "R2")
    }


def test_a_condition_with_one_training_trial_keeps_it_for_training():
    # per odor: A, B 4 training trials (one to validation: 0.2 x 4 rounds to 1), C one
    rec = _tiny(["A"] * 5 + ["B"] * 5 + ["C"] * 2)
    model = nm.fit(rec, subject_dim="rat", epochs=2, test_size=0.25, **FAST)
    for s in model.subjects_:
        odors = model.counts_[s].odor.values
        assert sorted(odors[model.validation_[s]]) == ["A", "B"]
        assert sorted(set(odors[model._part(s, "train")])) == ["A", "B", "C"]
    assert set(model.pairs_["validation"].condition) == {"A", "B"}


def test_too_few_trials_for_validation_names_the_subject():
    # one training trial per odor: no validation trial, so no beta="auto" nor patience
    rec = _tiny(["A"] * 2 + ["B"] * 2 + ["C"] * 2)
    with pytest.raises(ValueError, match=r"subject 'R1': validation_size=0.2: no odor"):
        nm.fit(rec, subject_dim="rat", epochs=1, test_size=0.5, **FAST)
    nm.fit(rec, subject_dim="rat", epochs=1, test_size=0.5, beta=1.0, patience=None,
           progress=False, batch_size=16)  # fmt: skip


def test_a_candidate_done_on_its_own_leaves_the_ensemble(rec):
    # on the validation ELBO, beta = 32 stops (patience 3) while the others go on
    params = dict(
        epochs=12, patience=3, min_epochs=0, seed=1, criterion="elbo", halving=False, **FAST
    )
    model = nm.fit(rec, subject_dim="rat", beta=[0.5, 4.0, 32.0], **params)
    trained = model.vae_.beta_selection_["epochs_trained"].values.astype(int)
    assert len(set(trained.tolist())) > 1
    first = int(np.argmin(trained))
    single = nm.fit(rec, subject_dim="rat", beta=[0.5, 4.0, 32.0][first], **params)
    assert len(single.history_) == trained[first]
    assert torch.allclose(
        _weights(model.vae_._candidates[first]), _weights(single.vae_.module_), atol=1e-4
    )


def test_halving_culls_the_worse_half_at_each_rung():
    from neuromix.training.early_stopping import EarlyStopping

    net = torch.nn.Linear(1, 1)
    # five models, rungs after 3, 6 and 12 epochs (min_epochs=3); model 4 is never finite
    values = {0: [5, 4, 3, 3, 3, 3], 1: [1, 9, 9, 9, 9, 9], 2: [6, 6, 2, 2, 2, 2],
              3: [9, 8, 7, 6, 1, 0], 4: [np.nan] * 6}  # fmt: skip
    stop = EarlyStopping(5, patience=50, monitor="v", min_epochs=3, halving=True)
    for epoch in range(6):
        for k in range(5):
            if not stop.done(k):
                stop.update(k, epoch, values[k][epoch], net)
        stop.end_epoch(epoch)
        if epoch == 2:  # best so far 3, 1, 2, 7, nan: cull floor(5/2) = 2, the worst two
            assert stop.culled == [None, None, None, 2, 2]
    # epoch 5 (6 done): of 0, 1, 2 (best 3, 1, 2) cull one, model 0
    assert stop.culled == [5, None, None, 2, 2]
    assert [stop.done(k) for k in range(5)] == [True, False, False, True, True]
    # the shared best is that of the models left (model 3's later 0 was never told)
    assert stop._overall == (2.0, 3)


def test_halving_does_not_cull_without_it_or_before_a_rung():
    from neuromix.training.early_stopping import EarlyStopping

    net = torch.nn.Linear(1, 1)
    for halving, expected in ((False, [None] * 3), (True, [None, None, 3])):
        stop = EarlyStopping(3, patience=50, monitor="v", min_epochs=4, halving=halving)
        for epoch in range(7):  # rungs after 4 and 8 epochs: one rung reached
            for k in range(3):
                stop.update(k, epoch, float(k), net)
            stop.end_epoch(epoch)
        assert stop.culled == expected


def test_beta_grid_with_halving_never_keeps_a_culled_candidate(rec):
    betas = [0.5, 4.0, 32.0]
    params = dict(epochs=9, patience=20, min_epochs=2, seed=1, **FAST)
    model = nm.fit(rec, subject_dim="rat", beta=betas, **params)
    sel = model.vae_.beta_selection_
    culled = sel["culled_at"].values.astype(int)
    # rungs after 2 and 4 epochs: one culled at epoch 1, one at epoch 3, one left
    assert sorted(culled.tolist()) == [-1, 1, 3]
    curve = sel["curve"].values
    first, second = int(np.argwhere(culled == 1)[0, 0]), int(np.argwhere(culled == 3)[0, 0])
    left = int(np.argwhere(culled == -1)[0, 0])
    # culled: the worst best-so-far criterion at its rung (epochs before min_epochs too)
    assert np.nanmin(curve[first, :2]) >= max(np.nanmin(curve[k, :2]) for k in range(3))
    assert np.nanmin(curve[second, :4]) >= np.nanmin(curve[left, :4])
    epochs = sel["epochs_trained"].values.astype(int)
    assert epochs[first] == 2 and epochs[second] == 4 and epochs[left] == 9
    assert model.vae_.beta_ == betas[left] == sel.attrs["chosen_beta"]
    # each is the separate fit at its beta for the epochs it was trained
    single = nm.fit(rec, subject_dim="rat", beta=betas[second], epochs=4, patience=20,
                    min_epochs=2, seed=1, **FAST)  # fmt: skip
    assert torch.allclose(
        _weights(model.vae_._candidates[second]), _weights(single.vae_.module_), atol=1e-4
    )
    # without halving every candidate trains to the end (patience 20 > 9 epochs)
    full = nm.fit(rec, subject_dim="rat", beta=betas, halving=False, **params)
    assert full.vae_.beta_selection_["epochs_trained"].values.tolist() == [9, 9, 9]
    assert (full.vae_.beta_selection_["culled_at"].values == -1).all()


def test_halving_is_off_on_the_cross_criterion(rec):
    # the cross criterion is lowest in its first epochs: it cannot rank at a rung
    model = nm.fit(rec, subject_dim="rat", beta=[0.5, 4.0, 32.0], epochs=5, patience=20,
                   min_epochs=2, criterion="cross", seed=1, **FAST)  # fmt: skip
    sel = model.vae_.beta_selection_
    assert (sel["culled_at"].values == -1).all()
    assert sel["epochs_trained"].values.tolist() == [5, 5, 5]


def test_n_init_trains_each_beta_from_several_initialisations(rec):
    betas = [0.5, 32.0]
    params = dict(subject_dim="rat", beta=betas, epochs=3, patience=None, seed=1, **FAST)
    two = nm.fit(rec, n_init=2, **params).vae_
    one = nm.fit(rec, **params).vae_
    sel = two.beta_selection_
    scores = sel["init_score"].values
    assert sel["init_score"].dims == ("beta", "init") and scores.shape == (2, 2)
    # each beta's record is its best initialisation; the choice is the best of all four
    np.testing.assert_array_equal(sel["kept_init"].values, scores.argmin(axis=1))
    np.testing.assert_array_equal(sel["score"].values, scores.min(axis=1))
    b, i = np.unravel_index(np.argmin(scores), scores.shape)
    assert two.beta_ == betas[b] == sel.attrs["chosen_beta"] and sel.attrs["chosen_init"] == i
    assert two.module_ is two._candidates[b]
    # init 0 is the fit of the seed itself; init 1 starts elsewhere
    assert not np.array_equal(scores[:, 0], scores[:, 1])
    assert "init_score" not in one.beta_selection_
    np.testing.assert_array_equal(one.beta_selection_["score"].values, scores[:, 0])
    for k in range(2):
        if sel["kept_init"].values[k] == 0:
            assert torch.equal(_weights(two._candidates[k]), _weights(one._candidates[k]))
        else:
            assert not torch.equal(_weights(two._candidates[k]), _weights(one._candidates[k]))
