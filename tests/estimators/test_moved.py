"""The estimators live in neuromix.estimators (the old paths, removed in 0.2.0, are
gone); ``import neuromix`` registers both classes for load."""

import subprocess
import sys

import neuromix
from neuromix import estimators
from neuromix.io import persistence


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
        "import importlib.util\n"
        "assert importlib.util.find_spec('neuromix.recordings') is None\n"
        "assert importlib.util.find_spec('neuromix.training.estimator') is None\n"
    )
    subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", use], check=True)
