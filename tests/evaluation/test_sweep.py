"""The resumable sweep runner: resume after an interruption, gather, named dims, errors."""

from contextlib import nullcontext as does_not_raise

import numpy as np
import pandas as pd
import pytest

from neuromix.evaluation.sweep import gather, make_grid, run_key, run_sweep, to_dataset, write_run

GRID = make_grid(method=["avg", "mmvm"], beta=[0.5, 2.0], seed=[0])


def _metrics(method, beta, seed):
    return {"accuracy": beta / 4 + (method == "mmvm") * 0.1, "recon": 100.0 / beta + seed}


class Interrupt(Exception):
    pass


def test_resumes_after_an_interruption_without_redoing_finished_runs(tmp_path):
    calls = []

    def failing_third(**config):
        calls.append(run_key(config))
        if len(calls) == 3:
            raise Interrupt("killed")
        return _metrics(**config)

    with pytest.raises(Interrupt):
        run_sweep(GRID, failing_third, tmp_path, progress=False)
    done = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert done == sorted(f"{run_key(c)}.json" for c in GRID[:2])  # no partial file of run 3

    again = []
    table = run_sweep(
        GRID, lambda **c: again.append(run_key(c)) or _metrics(**c), tmp_path, progress=False
    )
    assert again == [run_key(c) for c in GRID[2:]]  # the first two were not redone
    assert len(table) == len(GRID)

    third = []
    run_sweep(GRID, lambda **c: third.append(c) or {}, tmp_path, progress=False)
    assert third == []


def test_a_run_finished_meanwhile_by_another_process_is_not_redone(tmp_path):
    grid = make_grid(seed=[0, 1, 2])
    calls = []

    def run(seed):
        calls.append(seed)
        if seed == 0:  # another process sharing the folder finishes seed 1 meanwhile
            write_run(tmp_path, {"seed": 1}, {"score": -1.0}, 0.0)
        return {"score": float(seed)}

    table = run_sweep(grid, run, tmp_path, progress=False)
    assert calls == [0, 2]
    assert table["score"].tolist() == [0.0, -1.0, 2.0]


def test_gathers_into_the_documented_table(tmp_path):
    table = run_sweep(GRID, _metrics, tmp_path, progress=False)
    assert table.columns.tolist() == ["method", "beta", "seed", "accuracy", "recon", "seconds"]
    assert table[["method", "beta"]].values.tolist() == [[c["method"], c["beta"]] for c in GRID]
    expected = pd.DataFrame([_metrics(**c) for c in GRID])
    np.testing.assert_allclose(table[["accuracy", "recon"]], expected)
    assert (table["seconds"] >= 0).all()
    # gather without a grid reads every run file (sorted by key); with a grid, in its order
    assert len(gather(tmp_path)) == len(GRID)
    subset = gather(tmp_path, grid=GRID[::-1][:2])
    assert subset[["method", "beta"]].values.tolist() == [["mmvm", 2.0], ["mmvm", 0.5]]
    table.to_csv(tmp_path / "table.csv", index=False)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "table.csv"), table)


def test_to_dataset_puts_metrics_on_named_dims(tmp_path):
    table = run_sweep(GRID, _metrics, tmp_path, progress=False)
    ds = to_dataset(table)
    assert dict(ds.sizes) == {"method": 2, "beta": 2, "seed": 1}
    assert set(ds.data_vars) == {"accuracy", "recon", "seconds"}
    value = ds.accuracy.sel({"method": "mmvm", "beta": 2.0, "seed": 0})
    assert float(value) == pytest.approx(_metrics("mmvm", 2.0, 0)["accuracy"])
    partial = to_dataset(table.iloc[:3])
    assert np.isnan(partial.accuracy.sel({"method": "mmvm", "beta": 2.0})).all()


def test_numpy_metrics_are_written_as_json(tmp_path):
    table = run_sweep(
        [{"seed": 1}],
        lambda seed: {"a": np.float32(0.5), "b": np.int64(3), "c": np.arange(2)},
        tmp_path,
        progress=False,
    )
    assert table.loc[0, "a"] == 0.5 and table.loc[0, "b"] == 3 and table.loc[0, "c"] == [0, 1]
    assert not list((tmp_path / "runs").glob("*.tmp"))


def test_keys_are_file_names():
    assert run_key({"method": "mmvm", "beta": 2.0**-8, "ok": True}) == (
        "method=mmvm__beta=0.00390625__ok=true"
    )
    assert "/" not in run_key({"path": "a/b c"})


@pytest.mark.parametrize(
    ("grid", "expectation"),
    [
        (GRID, does_not_raise()),
        ([], pytest.raises(ValueError, match="the grid is empty")),
        ([{"a": 1}, {"a": 1}], pytest.raises(ValueError, match="share the key 'a=1'")),
        ([{"a": "x y"}, {"a": "x/y"}], pytest.raises(ValueError, match="share the key")),
        ([("a", 1)], pytest.raises(ValueError, match="must be a dict")),
        ([{}], pytest.raises(ValueError, match="at least one entry")),
    ],
)
def test_grid_errors(tmp_path, grid, expectation):
    with expectation:
        run_sweep(grid, lambda **c: {}, tmp_path, progress=False)


def test_a_stale_run_file_is_refused(tmp_path):
    run_sweep([{"method": "avg"}], lambda method: {}, tmp_path, progress=False)
    path = tmp_path / "runs" / "method=avg.json"
    path.write_text(path.read_text().replace('"method": "avg"', '"method": "poe"'))
    with pytest.raises(ValueError, match="holds the configuration"):
        run_sweep([{"method": "avg"}], lambda method: {}, tmp_path, progress=False)


def test_run_fn_must_return_a_dict(tmp_path):
    with pytest.raises(TypeError, match="must return a dict of metrics, got float"):
        run_sweep([{"a": 1}], lambda a: 0.5, tmp_path, progress=False)
    assert not list((tmp_path / "runs").iterdir())


@pytest.mark.parametrize(
    ("axes", "expectation"),
    [
        ({"method": ["avg"], "seed": range(2)}, does_not_raise()),
        ({"method": "avg"}, pytest.raises(ValueError, match="axis 'method' must be a sequence")),
        ({"beta": 1.0}, pytest.raises(ValueError, match="axis 'beta' must be a sequence")),
    ],
)
def test_make_grid_errors(axes, expectation):
    with expectation:
        assert len(make_grid(**axes)) == 2


@pytest.mark.parametrize(
    ("dims", "rows", "expectation"),
    [
        (("method", "beta", "seed"), slice(None), does_not_raise()),
        (
            ("method", "gamma"),
            slice(None),
            pytest.raises(ValueError, match=r"\['gamma'\] are not"),
        ),
        (("method",), slice(None), pytest.raises(ValueError, match="do not identify one run")),
    ],
)
def test_to_dataset_errors(tmp_path, dims, rows, expectation):
    table = run_sweep(GRID, _metrics, tmp_path, progress=False)
    with expectation:
        to_dataset(table.iloc[rows], dims=dims)
