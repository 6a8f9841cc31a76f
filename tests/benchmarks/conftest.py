import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def script(request):
    """The script ``benchmarks/<SCRIPT_NAME>.py`` of the requesting test module (its
    ``SCRIPT_NAME``), imported as a module."""
    name = request.module.SCRIPT_NAME
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
