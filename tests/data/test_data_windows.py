"""sliding_windows, n_windows and flatten_windows against hand-built windows."""

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuromix.data import (
    bin_trials,
    flatten_windows,
    from_arrays,
    from_xarray,
    n_windows,
    sliding_windows,
)


@pytest.fixture
def counts():
    # 3 trials, 2 units, 100 bins of 10 ms from onset; distinct values to track windows.
    values = np.arange(3 * 2 * 100).reshape(3, 2, 100) % 7
    return from_xarray(
        xr.DataArray(
            values,
            dims=("trial", "unit", "time"),
            coords={
                "trial": [10, 11, 12],
                "unit": ["a", "b"],
                "time": np.arange(100) * 0.01,
                "odor": ("trial", ["A", "B", "A"]),
            },
            attrs={"bin_size": 0.01},
        ),
        subject="R1",
    )


def test_paper_windows(counts):
    windows = sliding_windows(counts, window=0.1, step=0.01, start=0.25, stop=0.5)
    assert windows.dims == ("trial", "window", "unit", "lag")
    assert dict(windows.sizes) == {"trial": 3, "window": 16, "unit": 2, "lag": 10}
    assert np.allclose(windows["window"].values, 0.25 + np.arange(16) * 0.01)
    assert windows["window"].values[3] == 0.28  # exact, for sel(window=0.28)
    assert windows["lag"].values.tolist() == [round(0.01 * i, 2) for i in range(10)]
    assert windows["odor"].values.tolist() == ["A", "B", "A"]
    assert windows["unit"].values.tolist() == ["a", "b"]
    assert windows.attrs["subject"] == "R1" and windows.attrs["window"] == 0.1
    values = counts.values
    for trial in range(3):
        for j in range(16):
            first = 25 + j
            np.testing.assert_array_equal(
                windows.values[trial, j], values[trial, :, first : first + 10]
            )


def test_windows_are_a_view(counts):
    windows = sliding_windows(counts, window=0.1, step=0.05)
    assert np.shares_memory(windows.values, counts.values)
    assert not windows.values.flags.writeable


def test_flattened_window_is_neuron_major(counts):
    windows = sliding_windows(counts, window=0.1, step=0.01, start=0.25, stop=0.5)
    flat = flatten_windows(windows)
    assert flat.shape == (3 * 16, 2 * 10)
    assert not np.shares_memory(flat, counts.values)
    trial, j = 1, 5
    block = counts.values[trial, :, 25 + j : 35 + j]
    hand = np.concatenate([block[0], block[1]])  # all lags of unit a, then unit b
    np.testing.assert_array_equal(flat[trial * 16 + j], hand)
    assert flatten_windows(windows, dtype=np.float32).dtype == np.float32
    # Any dim order in, the same rows out.
    np.testing.assert_array_equal(flatten_windows(windows.transpose("lag", "unit", ...)), flat)


def test_windows_of_binned_trials_by_hand():
    trials = pd.DataFrame({"start_time": [1.0], "stop_time": [2.0], "odor": ["C"]})
    rec = from_arrays(
        [np.array([1.0, 1.05, 1.25]), np.array([1.1, 1.1001])],
        trials,
        subject="R1",
        time_resolution=1e-4,
    )
    windows = sliding_windows(bin_trials(rec, start=0.0, stop=0.3), window=0.1, step=0.1)
    assert windows["window"].values.tolist() == [0.0, 0.1, 0.2]
    expected = np.zeros((3, 2, 10), dtype=np.uint8)
    expected[0, 0, 0] = expected[0, 0, 5] = expected[2, 0, 5] = 1
    expected[1, 1, 0] = 2
    np.testing.assert_array_equal(windows.values[0], expected)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((0.25, 0.5, 0.1, 0.01), 16),
        ((0.5, 0.75, 0.1, 0.01), 16),
        ((0.0, 0.1, 0.1, 0.01), 1),
        ((0.0, 0.35, 0.1, 0.1), 3),
        ((-2.0, 2.0, 0.1, 0.01), 391),
    ],
)
def test_n_windows(args, expected):
    assert n_windows(*args) == expected


WINDOW_ERRORS = [
    pytest.param({"window": 0.015}, "window: 0.015 s is not a multiple of the bin size", id="w"),
    pytest.param({"step": 0.025}, "step: 0.025 s is not a multiple of the bin size", id="step"),
    pytest.param({"step": 0.0}, "step: must be positive", id="step-zero"),
    pytest.param(
        {"window": 0.3, "start": 0.25, "stop": 0.5},
        "window: 0.3 s is longer than the time range (25 bins of 0.01 s)",
        id="too-long",
    ),
    pytest.param({"start": 0.255}, "start: 0.255 s is not on the time grid", id="off-grid"),
    pytest.param({"stop": 1.5}, "[start, stop) = [0.0, 1.5) is empty or outside", id="outside"),
    pytest.param({"start": 0.5, "stop": 0.5}, "[start, stop) = [0.5, 0.5) is empty", id="empty"),
]


@pytest.mark.parametrize(("kwargs", "message"), WINDOW_ERRORS)
def test_sliding_windows_errors(counts, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(f"subject 'R1': {message}")):
        sliding_windows(counts, **kwargs)


def test_n_windows_and_flatten_errors(counts):
    with pytest.raises(ValueError, match=re.escape("window: 0.3 s is longer than the time")):
        n_windows(0.25, 0.5, 0.3, 0.01)
    with pytest.raises(ValueError, match=re.escape("stop - start: must be positive")):
        n_windows(0.5, 0.25, 0.1, 0.01)
    with pytest.raises(ValueError, match=re.escape("subject 'R1': windows: expected dims")):
        flatten_windows(counts)
    with pytest.raises(ValueError, match=re.escape("subject 'R1': dims: expected")):
        sliding_windows(counts.isel(trial=0))
