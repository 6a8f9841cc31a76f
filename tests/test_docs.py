"""The documentation's structure, without building it: every page a toctree names exists,
every page is named by a toctree, and the API reference lists every public name
(``make docs`` builds and checks the rest)."""

from __future__ import annotations

import ast
import importlib
import re
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API = DOCS / "api"
SOURCE_SUFFIXES = (".md", ".rst", ".ipynb")
SKIP_DIRS = {"_build", "_templates", "generated", "jupyter_execute", "runs"}


def _sources() -> list[Path]:
    return sorted(
        p
        for p in DOCS.rglob("*")
        if p.suffix in SOURCE_SUFFIXES and not SKIP_DIRS & set(p.relative_to(DOCS).parts)
    )


def _toctree_entries(path: Path) -> list[str]:
    """The documents named by the toctrees of a MyST or reST page."""
    text = path.read_text(encoding="utf-8")
    entries = []
    if path.suffix == ".md":
        blocks = re.findall(r"```\{toctree\}\n(.*?)```", text, flags=re.S)
        lines = [ln.strip() for block in blocks for ln in block.splitlines()]
    else:
        lines = []
        for block in re.findall(r"\.\. toctree::\n((?:[ \t]+.*\n|\n)*)", text):
            lines += [ln.strip() for ln in block.splitlines()]
    for line in lines:
        if not line or line.startswith(":"):
            continue
        match = re.fullmatch(r".*<(.+)>", line)  # "Title <doc>"
        entries.append(match.group(1) if match else line)
    return entries


def _autosummaries(path: Path) -> list[tuple[str, bool, list[str]]]:
    """(current module, has :toctree:, entries) of every autosummary of a reST page."""
    out, module = [], None
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if m := re.match(r"\.\. (?:current)?module:: (\S+)", line):
            module = m.group(1)
        if line.strip() != ".. autosummary::":
            continue
        toctree, entries = False, []
        for body in lines[i + 1 :]:
            if body and not body.startswith(" "):
                break
            item = body.strip()
            if item.startswith(":toctree:"):
                toctree = True
            elif item and not item.startswith(":"):
                entries.append(item)
        out.append((module, toctree, entries))
    return out


def _resolve(module: str, entry: str) -> tuple[str, object]:
    """Full name and object of an autosummary entry, as autosummary resolves it."""
    name = entry.lstrip("~")
    candidates = [f"{module}.{name}", name] if module else [name]
    for full in candidates:
        parent, _, attr = full.rpartition(".")
        try:
            return full, getattr(importlib.import_module(parent), attr)
        except (ImportError, AttributeError):
            continue
    raise LookupError(f"autosummary entry {entry!r} under {module!r} does not resolve")


def _documented_modules() -> list[str]:
    return [
        m
        for page in sorted(API.glob("*.rst"))
        for m in re.findall(r"^\.\. automodule:: (\S+)", page.read_text(), flags=re.M)
    ]


@pytest.mark.parametrize("page", _sources(), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_toctree_entry_exists(page):
    for entry in _toctree_entries(page):
        target = (page.parent / entry).resolve()
        found = [target.with_name(target.name + s) for s in SOURCE_SUFFIXES]
        assert any(f.is_file() for f in found), f"{page.relative_to(DOCS)} lists {entry!r}"


def _excluded_by_conf() -> list[str]:
    """``exclude_patterns`` of docs/conf.py, read without executing it."""
    tree = ast.parse((DOCS / "conf.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "exclude_patterns" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py sets no exclude_patterns")


def test_every_page_is_named_by_a_toctree():
    """Sphinx warns (an error under ``make docs``) on a page no toctree includes."""
    from sphinx.util.matching import Matcher

    excluded = Matcher(_excluded_by_conf())
    named = {  # an entry is relative to its page, or to docs/ when it starts with "/"
        ((DOCS / entry[1:]) if entry.startswith("/") else (page.parent / entry))
        .resolve()
        .relative_to(DOCS)
        .as_posix()
        for page in _sources()
        for entry in _toctree_entries(page)
    }
    orphans = [
        rel
        for page in _sources()
        if not excluded(rel := page.relative_to(DOCS).as_posix())
        and rel.rsplit(".", 1)[0] not in named | {"index"}
        and ":orphan:" not in page.read_text(encoding="utf-8")[:200]
    ]
    assert not orphans, f"no toctree includes {orphans}"


def test_landing_page_figure_and_changelog_include_exist():
    index = (DOCS / "index.md").read_text()
    figures = re.findall(r"```\{figure\} (\S+)", index)
    assert len(figures) == 1 and (DOCS / figures[0]).is_file()
    include = re.search(r"```\{include\} (\S+)", (DOCS / "changelog.md").read_text())
    assert include and (DOCS / include.group(1)).resolve() == ROOT / "CHANGELOG.md"


def test_every_public_subpackage_has_an_api_page():
    public = ["neuromix"] + [
        f"neuromix.{p.parent.name}"
        for p in sorted((ROOT / "neuromix").glob("*/__init__.py"))
        if not p.parent.name.startswith("_") and "__all__" in p.read_text()
    ]
    missing = sorted(set(public) - set(_documented_modules()))
    assert not missing, f"no API page documents {missing}"


@pytest.mark.parametrize("module", _documented_modules())
def test_api_page_lists_every_name_of_all(module):
    """Each name of ``__all__`` is in an autosummary of the module's section (as itself,
    or as a link to where it is documented), or is a submodule with its own section."""
    mod = importlib.import_module(module)
    listed = [
        obj
        for page in sorted(API.glob("*.rst"))
        for current, _, entries in _autosummaries(page)
        if current == module
        for _, obj in (_resolve(current, e) for e in entries)
    ]
    documented = set(_documented_modules())
    missing = []
    for name in mod.__all__:
        obj = getattr(mod, name)
        if isinstance(obj, types.ModuleType):
            if obj.__name__ not in documented:
                missing.append(name)
        elif not any(obj is other for other in listed):
            missing.append(name)
    assert not missing, f"docs/api does not list {module}.{missing}"


def test_every_linked_api_name_has_a_stub_page():
    """A name listed without ``:toctree:`` links to a stub generated elsewhere."""
    stubs, links = set(), []
    for page in sorted(API.glob("*.rst")):
        for module, toctree, entries in _autosummaries(page):
            for entry in entries:
                full, _ = _resolve(module, entry)
                (stubs.add(full) if toctree else links.append((page.name, full)))
    dangling = [(page, full) for page, full in links if full not in stubs]
    assert not dangling, f"linked but documented nowhere: {dangling}"
