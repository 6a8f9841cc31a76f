"""bin_spikes and bin_trials: exactness against an integer-tick reference, the binned form."""

import re
import tracemalloc
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from neuromix.data import Recording, bin_spikes, bin_trials, from_arrays


def reference_counts(unit_ticks, start_tick, bin_ticks, n_bins):
    """Counts from integer ticks with Python ints: independent of the implementation."""
    out = np.zeros((len(unit_ticks), n_bins), dtype=np.int64)
    for u, ticks in enumerate(unit_ticks):
        for b, c in Counter((k - start_tick) // bin_ticks for k in ticks).items():
            if 0 <= b < n_bins:
                out[u, b] = c
    return out


# Clock rates whose tick is a whole number of nanoseconds can also be binned with
# time_resolution=None (1 ns ticks); 30 kHz cannot, so it is only used with its resolution.
NS_RATES = [1000, 20000, 32000, 40000]


@st.composite
def binning_problem(draw):
    known = draw(st.booleans())
    rate = draw(st.sampled_from([*NS_RATES, 30000] if known else NS_RATES))
    bin_ticks = draw(st.integers(1, 40))
    start_tick = draw(st.integers(0, 2000))
    n_bins = draw(st.integers(1, 25))
    lo, hi = max(0, start_tick - 2 * bin_ticks), start_tick + (n_bins + 2) * bin_ticks
    n_units = draw(st.integers(1, 4))
    units = []
    for _ in range(n_units):
        anywhere = draw(st.lists(st.integers(lo, hi), max_size=30))
        # Spikes exactly on bin edges, the case float arithmetic gets wrong.
        on_edges = [
            start_tick + j * bin_ticks
            for j in draw(st.lists(st.integers(-1, n_bins + 1), max_size=10))
        ]
        ticks = sorted(t for t in anywhere + on_edges if t >= 0)
        if draw(st.booleans()):
            ticks = draw(st.permutations(ticks))
        units.append(ticks)
    return {
        "rate": rate,
        "known": known,
        "bin_ticks": bin_ticks,
        "start_tick": start_tick,
        "n_bins": n_bins,
        "units": units,
    }


@settings(max_examples=300, deadline=None)
@given(binning_problem())
def test_bin_spikes_matches_integer_reference(problem):
    rate = problem["rate"]
    start, bt, n = problem["start_tick"], problem["bin_ticks"], problem["n_bins"]
    times = [np.asarray(u, dtype=np.int64) / rate for u in problem["units"]]
    counts = bin_spikes(
        times,
        t_start=start / rate,
        t_stop=(start + n * bt) / rate,
        bin_size=bt / rate,
        time_resolution=1 / rate if problem["known"] else None,
    )
    expected = reference_counts(problem["units"], start, bt, n)
    assert counts.shape == expected.shape
    assert counts.dtype == np.uint8
    np.testing.assert_array_equal(counts, expected)


def test_spike_at_30_ms_lands_in_bin_3():
    counts = bin_spikes([np.array([0.03])], t_start=0.0, t_stop=0.1, bin_size=0.01)
    assert counts[0].tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]


@pytest.mark.parametrize("time_resolution", [None, 1e-3, 1 / 30000])
def test_every_edge_lands_in_the_bin_it_starts(time_resolution):
    edges = np.arange(100)
    # Both spellings of the edge times; floor(t / bin) misplaces some (0.29 / 0.01 < 29).
    for times in (edges * 0.01, edges / 100):
        counts = bin_spikes(
            [times], t_start=0.0, t_stop=1.0, bin_size=0.01, time_resolution=time_resolution
        )
        np.testing.assert_array_equal(counts[0], np.ones(100))
    assert np.any(np.floor(edges * 0.01 / 0.01) != edges)


def test_bin_spikes_range_is_half_open():
    counts = bin_spikes([[0.99, 1.0, 1.5, 2.0]], t_start=1.0, t_stop=2.0, bin_size=0.5)
    assert counts.tolist() == [[1, 1]]


@pytest.mark.parametrize(
    ("peak", "dtype"),
    [(255, np.uint8), (256, np.uint16), (70000, np.uint32)],
)
def test_auto_dtype_is_compact(peak, dtype):
    units = [np.full(3, 0.5), np.full(peak, 1.5), np.array([])]
    counts = bin_spikes(units, t_start=0.0, t_stop=2.0, bin_size=1.0)
    assert counts.dtype == dtype
    assert counts.tolist() == [[3, 0], [0, peak], [0, 0]]


def test_explicit_dtype():
    counts = bin_spikes([np.full(300, 0.5)], t_start=0, t_stop=1, bin_size=1, dtype=np.float32)
    assert counts.dtype == np.float32 and counts[0, 0] == 300
    with pytest.raises(ValueError, match=re.escape("dtype: uint8 cannot hold a count of 300")):
        bin_spikes([np.full(300, 0.5)], t_start=0, t_stop=1, bin_size=1, dtype="uint8")


BIN_SPIKES_ERRORS = [
    pytest.param(
        {"bin_size": 1e-5, "time_resolution": 1 / 30000},
        ValueError,
        "bin_size: 1e-05 s is not a whole number of clock ticks",
        id="bin-not-ticks",
    ),
    pytest.param({"bin_size": 0.0}, ValueError, "bin_size: must be a positive", id="bin-zero"),
    pytest.param(
        {"t_start": 1.0, "t_stop": 1.0}, ValueError, "t_stop (1.0) must be greater", id="empty"
    ),
    pytest.param(
        {"t_stop": 1.005}, ValueError, "is not a whole number of bins of 0.01 s", id="partial"
    ),
    pytest.param(
        {"spike_times": np.array([0.1, 0.2])},
        TypeError,
        "spike_times: expected one array per unit, got a single 1-D array",
        id="flat",
    ),
    pytest.param(
        {"spike_times": [[0.1, np.nan]]},
        ValueError,
        "spike_times: unit 0 has 1 non-finite spike times",
        id="nan",
    ),
    pytest.param({"dtype": "counts"}, TypeError, "dtype: expected 'auto' or", id="dtype-str"),
    pytest.param({"dtype": bool}, TypeError, "dtype: expected 'auto' or an integer", id="bool"),
    pytest.param(
        {"time_resolution": 0.0}, ValueError, "time_resolution: must be a positive", id="res"
    ),
]


@pytest.mark.parametrize(("change", "error", "message"), BIN_SPIKES_ERRORS)
def test_bin_spikes_errors(change, error, message):
    kwargs = {"spike_times": [[0.1]], "t_start": 0.0, "t_stop": 1.0, "bin_size": 0.01}
    kwargs.update(change)
    with pytest.raises(error, match=re.escape(message)):
        bin_spikes(**kwargs)


def test_bin_spikes_memory_is_the_output_not_int64():
    rng = np.random.default_rng(0)
    n_units, duration = 40, 600.0  # 60,000 bins per unit
    units = [np.sort(rng.uniform(0, duration, rng.poisson(10 * duration))) for _ in range(n_units)]
    tracemalloc.start()
    counts = bin_spikes(units, t_start=0.0, t_stop=duration, bin_size=0.01)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert counts.dtype == np.uint8
    assert peak < counts.nbytes + 4_000_000  # an int64 output would be 8x counts.nbytes
    expected = np.stack([np.histogram(u, bins=60000, range=(0, duration))[0] for u in units])
    np.testing.assert_array_equal(counts, expected)


class OnceSequence(Sequence):
    """Lazy units that record every read."""

    def __init__(self, units):
        self.units = units
        self.reads = []

    def __len__(self):
        return len(self.units)

    def __getitem__(self, i):
        unit = self.units[i]
        self.reads.append(i)
        return unit


def test_lazy_units_are_read_once_in_order():
    lazy = OnceSequence([np.array([0.1]), np.array([0.2, 0.3]), np.array([0.9])])
    bin_spikes(lazy, t_start=0.0, t_stop=1.0)
    assert lazy.reads == [0, 1, 2]
    trials = pd.DataFrame({"start_time": [0.0], "stop_time": [1.0]})
    lazy = OnceSequence(lazy.units)
    rec = Recording("R1", lazy, np.arange(3), trials)
    bin_trials(rec, start=0.0, stop=1.0)
    assert lazy.reads == [0, 1, 2]


# --------------------------------------------------------------------------- bin_trials


@pytest.fixture
def recording():
    trials = pd.DataFrame(
        {
            "start_time": [1.0, 3.0, 5.5],
            "stop_time": [2.0, 4.0, 6.5],
            "odor": ["A", "B", "A"],
            "correct": [True, False, True],
        },
        index=pd.Index([7, 8, 9], name="trial"),
    )
    spikes = [
        # trial 7: bins 0, 0, 2 of [0, 0.04); trial 8: bin 3; trial 9: bin 1 (edge 5.51)
        np.array([0.5, 1.0, 1.005, 1.02, 3.03, 3.039, 3.04, 5.51]),
        np.array([1.01, 1.01, 3.0, 5.5, 5.539, 5.54]),
    ]
    return from_arrays(spikes, trials, subject="R1", unit_ids=["a", "b"], time_resolution=1e-3)


def test_bin_trials_hand_example(recording):
    counts = bin_trials(recording, start=0.0, stop=0.04)
    assert counts.dims == ("trial", "unit", "time")
    expected = np.array(
        [
            [[2, 0, 1, 0], [0, 2, 0, 0]],  # trial 7
            [[0, 0, 0, 2], [1, 0, 0, 0]],  # trial 8
            [[0, 1, 0, 0], [1, 0, 0, 1]],  # trial 9
        ]
    )
    np.testing.assert_array_equal(counts.values, expected)
    assert counts.dtype == np.uint8
    assert counts["trial"].values.tolist() == [7, 8, 9]
    assert counts["unit"].values.tolist() == ["a", "b"]
    assert counts["time"].values.tolist() == [0.0, 0.01, 0.02, 0.03]
    assert counts["odor"].values.tolist() == ["A", "B", "A"]
    assert counts["correct"].values.tolist() == [True, False, True]
    assert counts["start_time"].values.tolist() == [1.0, 3.0, 5.5]
    assert counts.attrs == {"subject": "R1", "bin_size": 0.01, "time_resolution": 1e-3}
    assert counts.sel(time=0.03, unit="a").groupby("odor").sum().values.tolist() == [0, 2]


def test_bin_trials_agrees_with_bin_spikes(recording):
    counts = bin_trials(recording, start=-0.5, stop=0.7, bin_size=0.02)
    for i, onset in enumerate(recording.trials["start_time"]):
        direct = bin_spikes(
            recording.spike_times,
            t_start=onset - 0.5,
            t_stop=onset + 0.7,
            bin_size=0.02,
            time_resolution=1e-3,
        )
        np.testing.assert_array_equal(counts.values[i], direct)
    assert counts["time"].values[0] == -0.5 and counts["time"].values[-1] == 0.68


def test_bin_trials_of_binned_data_selects_and_rebins(recording):
    wide = bin_trials(recording, start=-0.5, stop=1.0)
    narrow = bin_trials(wide, start=0.0, stop=0.04)
    xr.testing.assert_identical(narrow, bin_trials(recording, start=0.0, stop=0.04))
    assert np.shares_memory(narrow.values, wide.values)
    coarse = bin_trials(wide, start=-0.5, stop=1.0, bin_size=0.05)
    xr.testing.assert_identical(coarse, bin_trials(recording, start=-0.5, stop=1.0, bin_size=0.05))
    transposed = bin_trials(wide.transpose("time", "unit", "trial"), start=0.0, stop=0.04)
    xr.testing.assert_identical(transposed, narrow)


def _recording_without_checks(**changes):
    trials = pd.DataFrame({"start_time": [1.0, 3.0], "stop_time": [2.0, 3.5]}, index=[4, 5])
    fields = {"subject": "R1", "spike_times": [np.array([1.5])], "unit_ids": np.arange(1)}
    fields["trials"] = trials
    fields.update(changes)
    return Recording(**fields)


BIN_TRIALS_ERRORS = [
    pytest.param(
        _recording_without_checks(),
        {"start": 0.0, "stop": 0.8},
        "subject 'R1': [start, stop) = [0.0, 0.8) s runs past the end of trials [5]",
        id="past-end",
    ),
    pytest.param(
        _recording_without_checks(),
        {"start": -2.0, "stop": 0.2},
        "subject 'R1': [start, stop) = [-2.0, 0.2) s starts before time 0 in trials [4]",
        id="before-zero",
    ),
    pytest.param(
        _recording_without_checks(),
        {"start": 0.2, "stop": 0.1},
        "subject 'R1': stop (0.1) must be greater than start (0.2)",
        id="reversed",
    ),
    pytest.param(
        _recording_without_checks(),
        {"start": 0.0, "stop": 0.105},
        "subject 'R1': stop - start = 0.105 s is not a whole number of bins of 0.01 s",
        id="partial-bin",
    ),
    pytest.param(
        _recording_without_checks(time_resolution=1 / 30000),
        {"start": 0.0, "stop": 0.1, "bin_size": 0.00001},
        "subject 'R1': bin_size: 1e-05 s is not a whole number of clock ticks",
        id="bin-not-ticks",
    ),
    pytest.param(
        _recording_without_checks(spike_times=[np.array([1.5, 1.2])]),
        {"start": 0.0, "stop": 0.1},
        "subject 'R1': spike_times: unit 0 is not sorted",
        id="unsorted",
    ),
    pytest.param(
        _recording_without_checks(
            trials=pd.DataFrame({"start_time": [1.0], "stop_time": [2.0], "time": [0]})
        ),
        {"start": 0.0, "stop": 0.1},
        "subject 'R1': trials: column 'time' has the name of a dimension",
        id="reserved-label",
    ),
    pytest.param(
        _recording_without_checks(trials=pd.DataFrame({"start_time": [1.0]})),
        {"start": 0.0, "stop": 0.1},
        "subject 'R1': trials: missing column(s) ['stop_time']",
        id="no-stop-time",
    ),
    pytest.param(
        _recording_without_checks(
            trials=pd.DataFrame({"start_time": [1.0, np.nan], "stop_time": [2.0, 3.0]})
        ),
        {"start": 0.0, "stop": 0.1},
        "subject 'R1': trials: start_time is NaN or inf in trials [1]",
        id="nan-onset",
    ),
    pytest.param(
        _recording_without_checks(),
        {"start": 0.0, "stop": 0.1, "dtype": "U3"},
        "subject 'R1': dtype: expected 'auto' or an integer or float dtype, got <U3",
        id="dtype",
    ),
]


@pytest.mark.parametrize(("rec", "kwargs", "message"), BIN_TRIALS_ERRORS)
def test_bin_trials_errors(rec, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        bin_trials(rec, **kwargs)


def test_bin_trials_binned_input_errors(recording):
    wide = bin_trials(recording, start=0.0, stop=0.5)
    cases = [
        ({"start": 0.005, "stop": 0.1}, "start: 0.005 s is not on the time grid"),
        ({"start": 0.0, "stop": 0.6}, "[start, stop) = [0.0, 0.6) runs outside the binned data"),
        ({"start": 0.0, "stop": 0.1, "bin_size": 0.015}, "bin_size: 0.015 s is not a multiple"),
        (
            {"start": 0.0, "stop": 0.1, "bin_size": 0.03},
            "stop - start = 0.1 s is not a whole number of bins of 0.03",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=re.escape(f"subject 'R1': {message}")):
            bin_trials(wide, **kwargs)
    many = wide.copy(data=np.full(wide.shape, 300, dtype=np.uint16))
    message = "subject 'R1': dtype: uint8 cannot hold a count of 300"
    with pytest.raises(ValueError, match=re.escape(message)):
        bin_trials(many, start=0.0, stop=0.1, dtype=np.uint8)
    with pytest.raises(TypeError, match="expected a Recording or a binned"):
        bin_trials(wide.values, start=0.0, stop=0.1)
