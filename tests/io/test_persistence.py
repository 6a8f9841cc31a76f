"""Save/load: identical latents, no pickle, clear errors, atomic writes."""

import io
import json
import zipfile

import numpy as np
import pytest
import torch

import neuromix as nm
from neuromix.io.persistence import write_atomic


@pytest.fixture(scope="module")
def fitted():
    X, _ = nm.datasets.make_multiview(n_samples=120, seed=1)
    vae = nm.MultimodalVAE(
        method="poe",
        method_params={"prior_expert": False},
        likelihood={"name": "laplace", "scale": 0.5},
        epochs=2,
        batch_size=32,
        progress=False,
    ).fit(X)
    return vae, X


def test_round_trip_gives_identical_latents(fitted, tmp_path):
    vae, X = fitted
    path = vae.save(tmp_path / "model.nmx")
    loaded = nm.load(path)
    for s in X:
        np.testing.assert_array_equal(loaded.transform({s: X[s]})[s], vae.transform({s: X[s]})[s])
    assert loaded.get_params()["method_params"] == {"prior_expert": False}
    assert loaded.history_.equals(vae.history_)
    np.testing.assert_array_equal(
        loaded.generate({"a": X["a"]}, "b", seed=3), vae.generate({"a": X["a"]}, "b", seed=3)
    )


def test_round_trip_keeps_the_rate_scale_and_method_options(tmp_path):
    X, _ = nm.datasets.make_multiview(n_samples=60, seed=2)
    vae = nm.MultimodalVAE(
        method=nm.models.get_method("poe", subsampled=True),
        rate_scale="subjects",
        epochs=1,
        batch_size=16,
        progress=False,
    ).fit(X)
    loaded = nm.load(vae.save(tmp_path / "model.nmx"))
    assert loaded.get_params()["rate_scale"] == "subjects"
    assert loaded.module_.rate_scale == "subjects"
    assert loaded.method_.subsampled and loaded.method_.prior_expert
    assert loaded.score(X) == pytest.approx(vae.score(X), rel=1e-6)


def test_a_file_without_rate_scale_loads_with_the_default(fitted, tmp_path):
    """Models saved before ``rate_scale`` existed used one joint KL: "one"."""
    vae, _ = fitted
    path = vae.save(tmp_path / "model.nmx")
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
    del config["params"]["rate_scale"]
    _rewrite(path, config=config)
    loaded = nm.load(path)
    assert loaded.rate_scale == "one" and loaded.module_.rate_scale == "one"


def test_config_is_plain_json_with_version(fitted, tmp_path):
    vae, _ = fitted
    path = vae.save(tmp_path / "model.nmx")
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
    assert config["neuromix_version"] == nm.__version__
    assert config["class"] == "MultimodalVAE"
    assert config["params"]["method"] == "poe"


def _rewrite(path, *, config=None, weights=None):
    with zipfile.ZipFile(path) as zf:
        old_config, old_weights = zf.read("config.json"), zf.read("weights.pt")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", old_config if config is None else json.dumps(config))
        zf.writestr("weights.pt", old_weights if weights is None else weights)


class Payload:
    """Stands for any object a malicious or foreign checkpoint could carry."""

    def __reduce__(self):
        return (print, ("this must never run",))


def test_checkpoint_with_pickled_object_is_refused(fitted, tmp_path, capsys):
    vae, _ = fitted
    path = vae.save(tmp_path / "model.nmx")
    buffer = io.BytesIO()
    torch.save({"module.x": Payload()}, buffer)
    _rewrite(path, weights=buffer.getvalue())
    with pytest.raises(
        ValueError, match=r"refused to load weights\.pt: it holds objects other than tensors"
    ):
        nm.load(path)
    assert "must never run" not in capsys.readouterr().out


def test_incompatible_version_is_refused(fitted, tmp_path):
    vae, _ = fitted
    path = vae.save(tmp_path / "model.nmx")
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
    config["format_version"] = 99
    config["neuromix_version"] = "9.0.0"
    _rewrite(path, config=config)
    with pytest.raises(
        ValueError,
        match=r"saved by neuromix 9.0.0 in file format 99; this neuromix .* reads format 1",
    ):
        nm.load(path)


def test_not_a_model_file(tmp_path):
    bad = tmp_path / "x.nmx"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="not a neuromix model file"):
        nm.load(bad)


def test_save_refuses_to_overwrite_and_leaves_no_temporary_file(fitted, tmp_path):
    vae, _ = fitted
    path = vae.save(tmp_path / "model.nmx")
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        vae.save(path)
    assert path.read_bytes() == before
    vae.save(path, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["model.nmx"]


def test_interrupted_write_keeps_the_original(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"original")

    def failing(tmp):
        tmp.write_bytes(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, failing, overwrite=True)
    assert target.read_bytes() == b"original"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
