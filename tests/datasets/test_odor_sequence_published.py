"""load_published on tiny files written in the published layout."""

import re

import numpy as np
import pytest

from neuromix.data import bin_trials, flatten_windows, sliding_windows
from neuromix.datasets.odor_sequence import load_published


def _info(n_trials):
    trials = np.arange(n_trials)
    return np.column_stack(
        [
            trials % 2,  # correct
            np.ones(n_trials),  # in sequence
            trials % 4 + 1,  # position
            trials % 4 + 1,  # odor A-D
            trials + 1,  # trial number
            np.ones(n_trials),  # sequence number
            np.full(n_trials, 1.2),  # poke duration
            np.zeros(n_trials),
            np.ones(n_trials),
        ]
    )


@pytest.fixture
def counts():
    rng = np.random.default_rng(0)
    return {
        "Barat": rng.integers(0, 4, size=(5, 3, 400)),
        "Mitt": rng.integers(0, 11, size=(4, 2, 400)),
    }


@pytest.fixture
def folder(tmp_path, counts):
    for rat, c in counts.items():
        # The published value is the fraction of 1 ms samples with a spike: count / 10.
        np.save(tmp_path / f"{rat}_spike_data_binned.npy", c / 10)
        np.save(tmp_path / f"{rat}_trial_info.npy", _info(c.shape[0]))
    np.save(tmp_path / "Barat_lfp_data_sampled.npy", np.zeros((5, 400, 2)))
    return tmp_path


def test_load_published(folder, counts):
    rats = load_published(folder)
    assert list(rats) == ["Barat", "Mitt"]
    for rat, da in rats.items():
        assert da.dims == ("trial", "unit", "time")
        assert da.dtype == np.uint8
        np.testing.assert_array_equal(da.values, counts[rat])
        assert da.attrs["subject"] == rat and da.attrs["bin_size"] == 0.01
        assert da.attrs["time_resolution"] == 0.001
        time = da["time"].values
        assert time[0] == -2.0 and time[200] == 0.0 and time[-1] == 1.99 and time[225] == 0.25
        assert da["trial"].values.tolist() == list(range(1, counts[rat].shape[0] + 1))
        assert da["odor"].values.tolist()[:4] == ["A", "B", "C", "D"]
        assert da["correct"].dtype == bool


def test_published_to_paper_windows(folder, counts):
    barat = load_published(folder, subjects="Barat")["Barat"]
    selected = bin_trials(barat, start=0.25, stop=0.5)
    np.testing.assert_array_equal(selected.values, counts["Barat"][:, :, 225:250])
    windows = sliding_windows(selected, window=0.1, step=0.01)
    assert windows.sizes["window"] == 16
    flat = flatten_windows(windows)
    assert flat.shape == (5 * 16, 3 * 10)
    np.testing.assert_array_equal(flat[16 + 2], counts["Barat"][1, :, 227:237].ravel())


def test_subjects_filter(folder):
    assert list(load_published(folder, subjects=["Mitt"])) == ["Mitt"]
    message = "no _spike_data_binned.npy file for subject(s) ['Stella'] (found: ['Barat', 'Mitt'])"
    with pytest.raises(FileNotFoundError, match=re.escape(message)):
        load_published(folder, subjects=["Mitt", "Stella"])


@pytest.mark.parametrize(
    ("damage", "error", "message"),
    [
        pytest.param(
            lambda f: np.save(f / "Mitt_spike_data_binned.npy", np.full((4, 2, 400), 0.15)),
            ValueError,
            "subject 'Mitt': Mitt_spike_data_binned.npy: values are not multiples of 0.1",
            id="not-tenths",
        ),
        pytest.param(
            lambda f: np.save(f / "Mitt_spike_data_binned.npy", np.full((4, 2, 400), -0.1)),
            ValueError,
            "subject 'Mitt': Mitt_spike_data_binned.npy: values must lie in [0, 1]",
            id="negative",
        ),
        pytest.param(
            lambda f: np.save(f / "Mitt_spike_data_binned.npy", np.full((4, 2, 400), np.nan)),
            ValueError,
            "subject 'Mitt': Mitt_spike_data_binned.npy: has NaN or inf",
            id="nan",
        ),
        pytest.param(
            lambda f: np.save(f / "Mitt_spike_data_binned.npy", np.zeros((4, 400))),
            ValueError,
            "subject 'Mitt': Mitt_spike_data_binned.npy: expected shape (trials, neurons",
            id="shape",
        ),
        pytest.param(
            lambda f: np.save(f / "Mitt_trial_info.npy", _info(3)),
            ValueError,
            "subject 'Mitt': Mitt_trial_info.npy has 3 trials but",
            id="trial-count",
        ),
        pytest.param(
            lambda f: (f / "Mitt_trial_info.npy").unlink(),
            FileNotFoundError,
            "subject 'Mitt': Mitt_trial_info.npy: missing beside",
            id="no-info",
        ),
    ],
)
def test_published_errors(folder, damage, error, message):
    damage(folder)
    with pytest.raises(error, match=re.escape(message)):
        load_published(folder)


def test_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape("no <rat>_spike_data_binned.npy files")):
        load_published(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_published(tmp_path / "absent")
