"""The tutorials (docs/tutorials/*.md, MyST notebooks executed by the docs build) and
their notebook copies (notebooks/*.ipynb, committed with outputs so that GitHub shows
the figures) are in sync. Cheap: nothing is executed here."""

from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
EXPECTED = {"quickstart", "nwb", "methods", "beyond", "images", "scaling"}


def _code(nb):
    return [c.source.strip() for c in nb.cells if c.cell_type == "code"]


def _notebook(path):
    notebook = ROOT / "notebooks" / f"{path.stem}.ipynb"
    assert notebook.exists(), f"run: jupytext --to ipynb --output {notebook} {path}"
    return nbformat.read(notebook, as_version=4)


def test_every_tutorial_is_there():
    assert {p.stem for p in TUTORIALS} == EXPECTED


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_is_a_myst_notebook_with_a_fast_setting(path):
    nb = jupytext.read(path)
    assert nb.metadata["jupytext"]["text_representation"]["format_name"] == "myst"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "a tutorial has one cell tagged 'parameters'"
    assert 'os.environ.get("NEUROMIX_DOCS_FAST")' in params[0].source


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_notebook_copy_is_in_sync(path):
    notebook = _notebook(path)
    assert _code(notebook) == _code(jupytext.read(path))
    markdown = [c.source.strip() for c in notebook.cells if c.cell_type == "markdown"]
    expected = [c.source.strip() for c in jupytext.read(path).cells if c.cell_type == "markdown"]
    assert markdown == expected


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_notebook_copy_is_executed_without_error_and_shows_figures(path):
    cells = [c for c in _notebook(path).cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in cells), "every code cell executed"
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
