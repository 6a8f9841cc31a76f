"""The odor-sequence experiment code lives in neuromix.datasets.odor_sequence (its old
paths in neuromix.data were removed in 0.2.0)."""

import subprocess
import sys

import pytest

import neuromix
import neuromix.datasets
from neuromix.datasets import odor_sequence


@pytest.mark.parametrize("name", ["load_published", "trial_table", "read_nwb", "write_nwb"])
def test_removed_data_aliases_are_gone(name):
    import neuromix.data

    with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
        getattr(neuromix.data, name)


def test_public_names_stay_where_users_have_them():
    assert neuromix.load_published is odor_sequence.load_published
    for name in ("simulate_odor_sequence", "write_odor_sequence_nwb", "load_trial_info"):
        assert getattr(neuromix.datasets, name) is getattr(odor_sequence, name)


def test_normal_use_raises_no_deprecation_warning():
    """Importing and using the package never goes through the deprecated aliases."""
    code = (
        "import neuromix, neuromix.data, neuromix.datasets as d\n"
        "from neuromix.datasets.odor_sequence import *\n"
        "d.simulate_odor_sequence(subjects='Stella', n_units=2, n_trials=2)\n"
        "d.load_trial_info('Mitt'); neuromix.load_published\n"
        "import sys\n"
        "import importlib.util\n"
        "assert importlib.util.find_spec('neuromix.data.published') is None\n"
        "assert importlib.util.find_spec('neuromix.data.trial_info') is None\n"
    )
    subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code], check=True)
