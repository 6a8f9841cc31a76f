"""The individuality map: a subject with a weak shared signal stands out; subjects
made identical up to their loadings score alike."""

import numpy as np
import pytest

import neuromix as nm
from neuromix.datasets.tasks import simulate_task


def _fit(weak: int):
    rec, truth = simulate_task(
        n_subjects=4, n_units=(30, 45), trials=(20, 24), latent="fixed_points", latent_dim=2,
        weak=weak, weak_signal=0.2, private_scale=0.3, seed=5,
    )  # fmt: skip
    start = {s: round(v, 2) for s, v in truth["latency"].items()}
    stop = {s: round(v + 0.25, 2) for s, v in start.items()}
    return nm.fit(
        rec, label="stimulus", start=start, stop=stop, beta=1.0, epochs=25, patience=None,
        progress=False,
    )  # fmt: skip


@pytest.fixture
def maps(fitted_once):
    # fitted once per test run, whichever worker runs these tests (tests/conftest.py)
    models = fitted_once("individuality", lambda: {str(w): _fit(w) for w in (0, 1)})
    return {int(w): model for w, model in models.items()}


@pytest.mark.slow
def test_the_weak_subject_departs_most(maps):
    model = maps[1]
    d = model.individuality()
    assert d.dims == ("subject", "stimulus", "window")
    assert list(d.stimulus.values) == ["c1", "c2", "c3", "c4"]
    per_subject = d.mean(("stimulus", "window"))
    # S04, the last subject, has a shared gain of 0.2 against 2.0 for the others
    assert per_subject.idxmax().item() == "S04"
    assert float(per_subject.sel(subject="S04")) > 3 * float(
        per_subject.drop_sel(subject="S04").max()
    )
    fig = model.plot_individuality()
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.slow
def test_subjects_alike_up_to_their_loadings_score_alike(maps):
    # the same task without the weak subject: loadings, units, rates, latencies and
    # private noise still drawn per subject, so the scores are alike, not equal
    # (measured: 0.61-1.45 nats against 0.9-30 with the weak subject)
    alike = maps[0].individuality().mean(("stimulus", "window"))
    weak = maps[1].individuality().mean(("stimulus", "window"))
    spread = float(alike.max() / alike.min())
    assert spread < 4, alike.values
    assert spread < float(weak.max() / weak.min()) / 4, (alike.values, weak.values)


def test_refuses_a_bad_n_draws():
    rec, _ = simulate_task(n_subjects=2, n_units=5, n_conditions=2, trials=8, latency=0.1, seed=0)
    model = nm.fit(rec, label="stimulus", start=0.1, stop=0.35, beta=1.0, patience=None,
                   epochs=1, progress=False)  # fmt: skip
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="n_draws: expected a positive integer"):
            model.individuality(n_draws=bad)
    d = model.individuality(n_draws=4)
    assert "time" in d.coords and np.isfinite(d).all()
