"""Sphinx configuration of the neuromix documentation (``make docs``).

The site is built offline: no intersphinx, MathJax loads in the reader's browser.
Tutorials (``tutorials/*.md``, MyST notebooks) are executed during every build and fail
it on error; no other page is executed. ``NEUROMIX_DOCS_FAST=1`` is read by the tutorials
themselves to train for fewer epochs (CI); ``NEUROMIX_DOCS_EXECUTE=off`` skips execution
for quick local edits of the prose (never in CI).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The checkout's package, even when another copy is installed.
sys.path.insert(0, str(ROOT))

import neuromix  # noqa: E402

project = "neuromix"
author = "the neuromix developers"
copyright = "2024-2026, the neuromix developers"
release = neuromix.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinxcontrib.mermaid",  # the layer graph of architecture.md, drawn in the browser
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "**/runs/**",
    "reproduction/classifiers/**",
    "reproduction/**/classifiers/**",
    "**.ipynb_checkpoints",
    "**/*.jsonl",
    "**/*.json",
    "**/*.csv",
    "results/suite/variants/**",
]

# -- API reference: autosummary stubs are generated into api/generated/ (gitignored) --
autosummary_generate = True
autosummary_generate_overwrite = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "undoc-members": False, "inherited-members": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc Parameters sections give the types
autodoc_class_signature = "separated"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_ivar = True
napoleon_use_rtype = False
napoleon_preprocess_types = False

# -- MyST and notebook execution ------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_fence_as_directive = ["mermaid"]
myst_dmath_double_inline = True

nb_execution_mode = os.environ.get("NEUROMIX_DOCS_EXECUTE", "force")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
# Only the tutorials are notebooks to run; anything else stays text.
nb_execution_excludepatterns = ["architecture.md", "model.md", "results/**", "reproduction/**"]
nb_merge_streams = True

# -- HTML -------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"neuromix {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "changelog": []}
html_static_path: list[str] = []
html_show_sourcelink = False


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn's metadata-routing setters (set_fit_request...) are generated on every
    # estimator class; they are sklearn's API, documented there, not neuromix's.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def _drop_builtin_docstrings(app, what, name, obj, options, lines):
    # A constant without a ``#:`` comment would show the docstring of its type
    # (``dict``, ``tuple``...): a description of Python, not of the constant.
    doc = getattr(type(obj), "__doc__", None)
    if what in ("data", "attribute") and type(obj).__module__ == "builtins" and doc:
        if "\n".join(lines).strip() == doc.strip():
            lines[:] = []


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _drop_builtin_docstrings)
