"""The tutorial runs end to end (on a small setting), and its notebook copy is in sync."""

from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "tutorials").glob("*.md"))


def _sources(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_notebook_copy_is_in_sync(path):
    notebook = ROOT / "notebooks" / f"{path.stem}.ipynb"
    assert notebook.exists(), f"run: jupytext --to ipynb --output {notebook} {path}"
    assert _sources(nbformat.read(notebook, as_version=4)) == _sources(jupytext.read(path))


@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_executes(path, tmp_path):
    nb = jupytext.read(path)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "a tutorial has one cell tagged 'parameters'"
    params[0].source = "EPOCHS = 2\nN_TRIALS = 40\nSEED = 0"
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert not errors
