"""The old paths of NWB reading, writing and latent export still work, with a
DeprecationWarning; the estimators register the classes io loads."""

import importlib
import subprocess
import sys

import pytest

import neuromix
import neuromix.data
import neuromix.io.nwb
from neuromix.io import persistence
from neuromix.io.nwb import read, write


def test_old_nwb_module_warns_and_re_exports():
    sys.modules.pop("neuromix.data.nwb", None)
    with pytest.warns(DeprecationWarning, match=r"neuromix.data.nwb is deprecated"):
        old = importlib.import_module("neuromix.data.nwb")
    assert old.read_nwb is read.read_nwb
    assert old.NWBSpikeTimes is read.NWBSpikeTimes
    assert old.write_nwb is write.write_nwb
    assert old.DEFAULT_SPECIES == write.DEFAULT_SPECIES


@pytest.mark.parametrize(
    ("name", "module"),
    [("read_nwb", read), ("write_nwb", write), ("NWBSpikeTimes", read)],
)
def test_old_data_attributes_warn_and_resolve(name, module):
    with pytest.warns(DeprecationWarning, match=rf"neuromix.data.{name} is deprecated"):
        old = getattr(neuromix.data, name)
    assert old is getattr(module, name)


def test_top_level_names_come_from_io():
    assert neuromix.read_nwb is read.read_nwb
    assert neuromix.write_nwb is write.write_nwb


def test_old_export_latents_warns_and_calls_to_nwb():
    calls = []

    class Fitted:
        def to_nwb(self, paths=None, *, out_dir=None, overwrite=False):
            calls.append((paths, out_dir, overwrite))
            return {}

    with pytest.warns(DeprecationWarning, match="export_latents is deprecated"):
        export_latents = neuromix.io.nwb.export_latents
    assert export_latents(Fitted(), {"R1": "r1.nwb"}, out_dir="out") == {}
    assert calls == [({"R1": "r1.nwb"}, "out", False)]
    with pytest.raises(TypeError, match="model: expected a fitted NeuralModel, got object"):
        export_latents(object())
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        neuromix.io.nwb.nope  # noqa: B018


def test_estimators_register_their_classes():
    assert persistence._MODEL_CLASSES["MultimodalVAE"] is neuromix.MultimodalVAE
    assert persistence._MODEL_CLASSES["NeuralModel"] is neuromix.NeuralModel
    with pytest.raises(TypeError, match="register_model_class: expected a class"):
        persistence.register_model_class(object())


def test_normal_use_goes_through_no_shim():
    """(That io imports no estimator is checked by tests/test_architecture.py.)"""
    use = (
        "import neuromix as nm, neuromix.data\n"
        "nm.read_nwb, nm.write_recording, nm.load\n"
        "import sys\n"
        "assert 'neuromix.data.nwb' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", use], check=True)
