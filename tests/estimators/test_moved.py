"""The old paths of the estimators still work, with a DeprecationWarning; normal use
imports no shim, and ``import neuromix`` registers both classes for load."""

import importlib
import subprocess
import sys

import pytest

import neuromix
from neuromix import estimators
from neuromix.io import persistence


def test_old_recordings_module_warns_and_re_exports():
    sys.modules.pop("neuromix.recordings", None)
    with pytest.warns(DeprecationWarning, match=r"neuromix.recordings is deprecated"):
        old = importlib.import_module("neuromix.recordings")
    assert old.NeuralModel is estimators.NeuralModel
    assert old.fit is estimators.fit


def test_old_training_estimator_module_warns_and_re_exports():
    sys.modules.pop("neuromix.training.estimator", None)
    with pytest.warns(DeprecationWarning, match=r"neuromix.training.estimator is deprecated"):
        old = importlib.import_module("neuromix.training.estimator")
    assert old.MultimodalVAE is estimators.MultimodalVAE


def test_top_level_names_come_from_estimators():
    assert neuromix.MultimodalVAE is estimators.MultimodalVAE
    assert neuromix.NeuralModel is estimators.NeuralModel
    assert neuromix.fit is estimators.fit
    assert persistence._MODEL_CLASSES["MultimodalVAE"] is estimators.MultimodalVAE
    assert persistence._MODEL_CLASSES["NeuralModel"] is estimators.NeuralModel


def test_normal_use_goes_through_no_shim():
    use = (
        "import neuromix as nm, neuromix.training, neuromix.estimators\n"
        "from neuromix.io import persistence\n"
        "assert set(persistence._MODEL_CLASSES) >= {'MultimodalVAE', 'NeuralModel'}\n"
        "import sys\n"
        "assert 'neuromix.recordings' not in sys.modules\n"
        "assert 'neuromix.training.estimator' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", use], check=True)
