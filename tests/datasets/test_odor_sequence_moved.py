"""The old paths of the odor-sequence experiment code still work, with a DeprecationWarning."""

import importlib
import subprocess
import sys

import pytest

import neuromix
import neuromix.datasets
from neuromix.datasets import odor_sequence


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("neuromix.data.published", "load_published"),
        ("neuromix.data.trial_info", "trial_table"),
        ("neuromix.data.trial_info", "ODORS"),
    ],
)
def test_old_modules_warn_and_re_export(module, name):
    sys.modules.pop(module, None)
    with pytest.warns(DeprecationWarning, match=rf"{module} is deprecated"):
        old = importlib.import_module(module)
    assert getattr(old, name) is getattr(odor_sequence, name)


@pytest.mark.parametrize("name", ["load_published", "trial_table"])
def test_old_data_attributes_warn_and_resolve(name):
    import neuromix.data

    with pytest.warns(DeprecationWarning, match=rf"neuromix.data.{name} is deprecated"):
        old = getattr(neuromix.data, name)
    assert old is getattr(odor_sequence, name)


def test_unknown_data_attribute_is_an_attribute_error():
    import neuromix.data

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        neuromix.data.nope  # noqa: B018


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
        "assert 'neuromix.data.published' not in sys.modules\n"
        "assert 'neuromix.data.trial_info' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code], check=True)
