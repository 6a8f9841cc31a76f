"""The layering of neuromix: imports only point down, no import cycle.

The layers (lowest first) and the allowlists of today's violations live in pyproject.toml,
``[tool.neuromix.architecture]``; the graph is read from the ast of every module by
tools/import_graph.py. The allowlists may only shrink: an entry that no longer occurs fails.
"""

import importlib.util
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_tool():
    name = "neuromix_tools_import_graph"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


ig = _load_tool()


@pytest.fixture(scope="module")
def config():
    return ig.load_config(ROOT / "pyproject.toml")


@pytest.fixture(scope="module")
def graph():
    return ig.build_graph(ROOT, "neuromix")


def test_every_module_belongs_to_a_layer(graph, config):
    assert ig.unassigned_modules(graph, config.layers) == []


def test_the_layer_order_is_the_declared_one(config):
    # evaluation and plotting are functions of latents and xarray results; the
    # estimators' result methods hand off to them (docs/architecture.md)
    names = [layer.name for layer in config.layers]
    assert names == [
        "base",
        "data",
        "io",
        "models",
        "training",
        "evaluation",
        "plotting",
        "estimators",
        "datasets",
        "benchmarks",
        "top",
    ]
    listed = [m for layer in config.layers for m in layer.modules]
    assert len(listed) == len(set(listed)), "a module is listed in two layers"


def test_no_import_points_up_a_layer_except_the_allowlisted(graph, config):
    found = ig.upward_imports(graph, config.layers)
    allowed = {(a.importer, a.imported) for a in config.known_violations}
    new = {pair: sorted(kinds) for pair, kinds in found.items() if pair not in allowed}
    assert new == {}, f"imports into a higher layer: {new}"


def test_the_allowlist_only_shrinks(graph, config):
    found = ig.upward_imports(graph, config.layers)
    stale = [
        (a.importer, a.imported)
        for a in config.known_violations
        if (a.importer, a.imported) not in found
    ]
    assert stale == [], f"no longer violated, remove from known-violations: {stale}"
    pairs = [(a.importer, a.imported) for a in config.known_violations]
    assert len(pairs) == len(set(pairs))
    for allowed in config.known_violations:
        assert allowed.reason.startswith("to be moved by the redesign"), allowed


def test_no_cycle_among_top_level_imports(graph):
    assert ig.cycles(graph)[ig.TOP_LEVEL] == []


def test_cycles_through_deferred_imports_are_exactly_the_allowlisted(graph, config):
    found = {frozenset(c) for c in ig.cycles(graph)["through deferred"]}
    known = {members for members, _ in config.known_cycles}
    assert found - known == set(), f"new import cycles: {[sorted(c) for c in found - known]}"
    assert known - found == set(), (
        f"gone, remove from known-cycles: {[sorted(c) for c in known - found]}"
    )
    for _, reason in config.known_cycles:
        assert reason.startswith("to be moved by the redesign")


def test_the_check_passes_on_today_s_code(graph, config):
    assert ig.check(graph, config) == []


# --------------------------------------------------------------------------- planted violations


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


FAKE_LAYERS = (
    ig.Layer("low", ("pkg.low",)),
    ig.Layer("high", ("pkg.high", "pkg")),
)


def test_a_planted_upward_import_is_reported(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": '"""The package."""\nfrom pkg.high import b\n',
            "pkg/low/__init__.py": "",
            "pkg/low/a.py": '"""Low."""\nfrom ..high import b  # planted: up a layer\n',
            "pkg/high/__init__.py": "",
            "pkg/high/b.py": '"""High."""\nfrom pkg.low import a\n',
        },
    )
    graph = ig.build_graph(tmp_path, "pkg")
    config = ig.Config(FAKE_LAYERS)
    assert ig.upward_imports(graph, FAKE_LAYERS) == {("pkg.low.a", "pkg.high.b"): {"top-level"}}
    problems = ig.check(graph, config)
    assert any("upward import pkg.low.a -> pkg.high.b (top-level)" in p for p in problems)
    # the two modules import each other at the top level: a cycle, never allowlistable
    assert any("cycle among top-level imports: pkg.high.b <-> pkg.low.a" in p for p in problems)
    # allowlisting the pair silences it; the top-level cycle stays
    allowed = ig.Config(FAKE_LAYERS, (ig.Allowed("pkg.low.a", "pkg.high.b", "to be moved"),))
    assert [p for p in ig.check(graph, allowed) if "upward" in p] == []
    assert any("top-level" in p for p in ig.check(graph, allowed))


def test_deferred_and_type_checking_imports_count_and_cycles_are_told_apart(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/low/__init__.py": "",
            "pkg/low/a.py": """\
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from pkg.high.c import C

                def f():
                    import pkg.high.b
                    return pkg.high.b
            """,
            "pkg/high/__init__.py": "",
            "pkg/high/b.py": "from pkg.low import a\n",
            "pkg/high/c.py": "",
            "pkg/stray.py": "",
        },
    )
    graph = ig.build_graph(tmp_path, "pkg")
    assert ig.upward_imports(graph, FAKE_LAYERS) == {
        ("pkg.low.a", "pkg.high.b"): {"deferred"},
        ("pkg.low.a", "pkg.high.c"): {"type-checking"},
    }
    assert ig.cycles(graph) == {
        "top-level": [],
        "through deferred": [["pkg.high.b", "pkg.low.a"]],
    }
    problems = ig.check(graph, ig.Config(FAKE_LAYERS))
    assert "pkg.stray belongs to no layer of [tool.neuromix.architecture]" in problems
    assert any("cycle through deferred imports: pkg.high.b <-> pkg.low.a" in p for p in problems)
    # a stale allowlist entry fails too
    stale = ig.Config(FAKE_LAYERS, (ig.Allowed("pkg.high.b", "pkg.low.a", "old"),))
    assert any("no longer occurs" in p for p in ig.check(graph, stale))


def test_an_upward_import_planted_in_a_copy_of_neuromix_fails_the_real_check(tmp_path, config):
    for path in (ROOT / "neuromix").rglob("*.py"):
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    binning = tmp_path / "neuromix" / "data" / "binning.py"
    binning.write_text(
        binning.read_text() + "\n\ndef _planted():\n    from neuromix.plotting import _axes\n"
    )
    problems = ig.check(ig.build_graph(tmp_path, "neuromix"), config)
    assert problems == [
        "upward import neuromix.data.binning -> neuromix.plotting._axes (deferred): "
        "layer data imports layer plotting"
    ]


def test_the_markdown_section_has_the_tree_and_both_graphs(graph, config):
    text = ig.markdown(graph, config)
    assert text.startswith(ig.BEGIN) and text.rstrip().endswith(ig.END)
    assert "```mermaid\ngraph TD" in text
    assert "- `binning.py` (" in text
    assert "data -> base" in text
    doc = "intro\n" + ig.BEGIN + "\nold\n" + ig.END + "\noutro\n"
    assert ig.update_docs(doc, text) == "intro\n" + text + "outro\n"
