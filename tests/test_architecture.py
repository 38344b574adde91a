"""The layout reads as the data flow: imports run one way only, and there are no import circles.

Every import is counted, also those inside functions and under ``TYPE_CHECKING``: a lazy import
still ties two modules together. The wings, lowest first (a module may import its own wing or a
lower one, never a higher one or a sibling):

    features.errors <- features.records <- features.synthetic | the feature engine
        <- models <- fairness <- scoring.reports <- scoring <- scoring.serve <- scoring.cli <- bench
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("features", "models", "fairness", "scoring", "bench")
#: wing -> rank; a module belongs to the wing that is the longest prefix of its name.
WINGS = {
    "features.errors": 0,
    "features.records": 1,
    "features.synthetic": 2,
    "features": 2,  # the feature engine
    "models": 3,
    "fairness": 4,
    "scoring.reports": 5,
    "scoring": 6,
    "scoring.serve": 7,
    "scoring.cli": 8,
    "bench": 9,
}
#: packages that compute only: they render no page and read no template.
COMPUTE_ONLY = ("features", "models", "fairness")
RENDERING = ("jinja2", "markupsafe")


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (first-party, resolved to a module or package that exists)
    where: str  # file:line


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a first-party module (``a.b.C`` -> ``a.b``)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def imports(known: dict[str, Path]) -> Iterator[tuple[Import, str]]:
    """Every import statement of every first-party module: (first-party edge or None, raw name)."""
    for source, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                names = [f"{base}.{alias.name}" for alias in node.names] or [base]
            for name in names:
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                target = resolve(name, known)
                yield Import(source, target or "", where), name


def wing(module: str) -> str:
    return max((w for w in WINGS if module == w or module.startswith(w + ".")), key=len)


def edges() -> list[Import]:
    known = modules()
    return [imp for imp, _ in imports(known) if imp.target and imp.target != imp.source]


def test_the_layout_has_the_packages_it_describes() -> None:
    known = modules()
    for module in (
        "features.records.schema",
        "features.synthetic.settings",
        "features.build",
        "fairness.audit",
        "scoring.reports.env",
        "scoring.reports.charts.base",
        "scoring.cli.app",
    ):
        assert module in known, module
    assert len(edges()) > 150  # the scan sees the imports (a broken parser would pass vacuously)


def against_the_flow(found: list[Import]) -> list[str]:
    """Imports of a higher wing, or of a sibling wing of the same rank."""
    wrong = []
    for imp in found:
        src, dst = wing(imp.source), wing(imp.target)
        if src != dst and WINGS[dst] >= WINGS[src]:
            wrong.append(f"{imp.where}: {imp.source} ({src}) imports {imp.target} ({dst})")
    return wrong


def circles(found: list[Import]) -> list[list[str]]:
    """Groups of modules that import each other, directly or round a loop (Tarjan's components)."""
    graph: dict[str, set[str]] = {}
    for imp in found:
        graph.setdefault(imp.source, set()).add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_imports_run_one_way_only() -> None:
    wrong = against_the_flow(edges())
    assert not wrong, "imports against the flow:\n" + "\n".join(wrong)


def test_there_are_no_import_circles() -> None:
    found = circles(edges())
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("package", COMPUTE_ONLY)
def test_computing_packages_render_nothing(package: str) -> None:
    known = modules()
    found = [
        f"{imp.where}: {name}"
        for imp, name in imports(known)
        if imp.source.split(".")[0] == package and name.split(".")[0] in RENDERING
    ]
    assert not found, f"{package}/ renders pages: " + ", ".join(found)
    assert not list((ROOT / package).rglob("templates")), f"{package}/ holds templates"


def test_the_checks_catch_a_circle_and_imports_against_the_flow() -> None:
    """The checks fail when they should, on made-up imports."""
    made_up = [
        Import("features.records.schema", "features.records.validate", "a:1"),
        Import("features.records.validate", "features.records.parsing", "a:2"),
        Import("features.records.parsing", "features.records.schema", "a:3"),  # closes a loop of three
        Import("models.metrics", "fairness.audit", "b:1"),  # upward
        Import("features.synthetic.world", "features.catalogue", "c:1"),  # sibling wing
        Import("scoring.cli.app", "scoring.pipeline", "d:1"),  # downward: fine
        Import("scoring.reports.model", "models.backtest", "d:2"),  # downward: fine
    ]
    assert circles(made_up) == [
        ["features.records.parsing", "features.records.schema", "features.records.validate"]
    ]
    assert [w.split(":")[0] for w in against_the_flow(made_up)] == ["b", "c"]
