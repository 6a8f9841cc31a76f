"""pynapple in and out: the same spikes through from_pynapple and from_arrays bin
identically; latents come back as TsdFrames on the recording's clock."""

import numpy as np
import pandas as pd
import pytest

import neuromix as nm
from neuromix.data import bin_trials, from_arrays

nap = pytest.importorskip("pynapple")


def _spikes(rng, n_units=4, duration=12.0):
    return [np.sort(rng.uniform(0, duration, rng.integers(20, 200))) for _ in range(n_units)]


def test_from_pynapple_bins_exactly_as_from_arrays(rng):
    spikes = _spikes(rng)
    starts = np.array([0.5, 3.0, 6.2, 9.1])
    odor = ["A", "B", "A", "B"]
    epochs = nap.IntervalSet(start=starts, end=starts + 2.0, metadata={"odor": odor})
    units = nap.TsGroup({10 + i: nap.Ts(t) for i, t in enumerate(spikes)})
    extra = pd.DataFrame({"correct": [True, False, True, True]}, index=[101, 102, 103, 104])
    rec = nm.from_pynapple(units, epochs, extra, subject="R1")
    table = pd.DataFrame({"start_time": starts, "stop_time": starts + 2.0, "odor": odor,
                          "correct": extra["correct"].to_numpy()}, index=extra.index)  # fmt: skip
    reference = from_arrays(spikes, table, subject="R1", unit_ids=[10, 11, 12, 13])
    assert rec.trials.equals(reference.trials)
    assert rec.unit_ids.tolist() == [10, 11, 12, 13]
    a = bin_trials(rec, start=0.0, stop=2.0, bin_size=0.01)
    b = bin_trials(reference, start=0.0, stop=2.0, bin_size=0.01)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.values.sum() > 0
    # a hand count: unit 0's spikes in trial 0's first 100 ms
    hand = int(((spikes[0] >= 0.5) & (spikes[0] < 0.6)).sum())
    assert int(a.values[0, 0, :10].sum()) == hand


def test_from_pynapple_refuses_bad_input(rng):
    units = nap.TsGroup({0: nap.Ts(np.array([0.1, 0.2]))})
    epochs = nap.IntervalSet(start=[0.0], end=[1.0], metadata={"odor": ["A"]})
    with pytest.raises(TypeError, match="subject 'R1': units: expected a pynapple TsGroup"):
        nm.from_pynapple({0: [0.1]}, epochs, subject="R1")
    with pytest.raises(TypeError, match="subject 'R1': epochs: expected a pynapple IntervalSet"):
        nm.from_pynapple(units, pd.DataFrame({"start": [0.0]}), subject="R1")
    with pytest.raises(ValueError, match=r"subject 'R1': trials: 2 rows for 1 intervals"):
        nm.from_pynapple(units, epochs, pd.DataFrame({"x": [1, 2]}), subject="R1")
    with pytest.raises(ValueError, match=r"subject 'R1': trials: columns \['odor'\]"):
        nm.from_pynapple(units, epochs, pd.DataFrame({"odor": ["B"]}), subject="R1")


def test_latents_return_as_tsdframes_on_the_recording_clock():
    rec = nm.datasets.simulate_odor_sequence(seed=0, n_trials=40, n_units=6,
                                             subjects=("Barat", "Mitt"))  # fmt: skip
    model = nm.fit(rec, subject_dim="rat", epochs=1, beta=1.0, patience=None, progress=False)
    frames = model.to_pynapple()
    latents = model.latents()
    for s, frame in frames.items():
        part = latents.sel(rat=s)
        assert isinstance(frame, nap.TsdFrame) and frame.shape == part.shape
        centres = part["start_time"].values + part["time"].values + model.window / 2
        order = np.argsort(centres, kind="stable")
        np.testing.assert_allclose(frame.t, centres[order])
        np.testing.assert_array_equal(frame.values, part.values[order])
        assert (
            len(frame.time_support) == part.to_pandas().index.get_level_values("trial").nunique()
        )
