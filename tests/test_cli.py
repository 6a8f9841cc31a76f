import pytest

import neuromix.benchmarks.alignment as alignment
import neuromix.benchmarks.polymnist as polymnist
import neuromix.demo
from neuromix.cli import main


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(polymnist, "run_benchmark", lambda *a, **k: seen.append((a, k)))
    monkeypatch.setattr(alignment, "run_benchmark", lambda *a, **k: seen.append(("rats", a, k)))
    monkeypatch.setattr(neuromix.demo, "run_demo", lambda *a, **k: seen.append((a, k)))
    return seen


def test_benchmark_settings_and_overrides(calls):
    assert main(["benchmark", "polymnist", "--out", "x"]) == 0
    assert calls[-1] == (("x",), {"setting": "cpu", "progress": True, "jobs": 1})
    main(["benchmark", "polymnist", "--out", "y", "--quick", "--no-progress", "--jobs", "2"])
    assert calls[-1] == (("y",), {"setting": "quick", "progress": False, "jobs": 2})
    main(["benchmark", "polymnist", "--out", "r", "--report-only"])
    assert calls[-1] == (
        ("r",),
        {"setting": "cpu", "progress": True, "jobs": 1, "report_only": True},
    )
    main(["benchmark", "polymnist", "--out", "t", "--translated"])
    assert calls[-1] == (("t",), {"setting": "cpu-translated", "progress": True, "jobs": 1})
    overrides = ["--epochs", "16", "--betas", "0.5,4", "--methods", "mmvm, avg", "--seeds", "0,1"]
    main(["benchmark", "polymnist", "--out", "z", *overrides])
    assert calls[-1][1] == {
        "setting": "cpu",
        "progress": True,
        "jobs": 1,
        "epochs": 16,
        "betas": (0.5, 4.0),
        "methods": ("mmvm", "avg"),
        "seeds": (0, 1),
    }


def test_rats_benchmark_settings_and_overrides(calls):
    assert main(["benchmark", "rats", "--out", "x"]) == 0
    assert calls[-1] == ("rats", ("x",), {"setting": "full", "progress": True})
    main(["benchmark", "rats", "--out", "y", "--quick", "--no-progress"])
    assert calls[-1] == ("rats", ("y",), {"setting": "quick", "progress": False})
    overrides = ["--methods", "mmvm-pairwise,cebra", "--seeds", "0,1,2", "--epochs", "5"]
    more = ["--datasets", "rats", "--cebra-iterations", "100"]
    main(["benchmark", "rats", "--out", "z", *overrides, *more])
    assert calls[-1][2] == {
        "setting": "full",
        "progress": True,
        "epochs": 5,
        "methods": ("mmvm-pairwise", "cebra"),
        "seeds": (0, 1, 2),
        "datasets": ("rats",),
        "cebra_iterations": 100,
    }
    main(["benchmark", "rats", "--out", "z", "--report-only", "--precision", "bf16"])
    assert calls[-1][2] == {
        "setting": "full",
        "progress": True,
        "report_only": True,
        "fit_params": {"precision": "bf16"},
        "vae_params": {"validation_fraction": 0.0, "precision": "bf16"},
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rats", "--paper"], "--paper is a polymnist setting"),
        (["rats", "--translated"], "--translated is a polymnist setting"),
        (["rats", "--betas", "1"], "--betas is an option of the polymnist benchmark only"),
        (["polymnist", "--datasets", "rats"], "--datasets is an option of the rats benchmark"),
        (["polymnist", "--cebra-iterations", "5"], "--cebra-iterations is an option of the rats"),
        (["polymnist", "--precision", "bf16"], "--precision is an option of the rats"),
        (["rats", "--jobs", "2"], "--jobs is an option of the polymnist benchmark only"),
    ],
)
def test_options_of_the_other_benchmark_are_refused(calls, capsys, argv, message):
    with pytest.raises(SystemExit):
        main(["benchmark", argv[0], "--out", "x", *argv[1:]])
    assert message in capsys.readouterr().err
    assert calls == []


def test_demo_arguments(calls):
    main(["demo", "--quick", "--seed", "3", "--out", "r"])
    assert calls[-1] == (("r",), {"quick": True, "seed": 3, "progress": True})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--betas", "0.5,big"], "expected numbers separated by commas, got '0.5,big'"),
        (["--seeds", "0,1.5"], "expected integers separated by commas, got '0,1.5'"),
        (["--quick", "--paper"], "not allowed with argument"),
    ],
)
def test_benchmark_bad_arguments(calls, capsys, argv, message):
    with pytest.raises(SystemExit):
        main(["benchmark", "polymnist", "--out", "x", *argv])
    assert message in capsys.readouterr().err
    assert calls == []
