"""The package layout: each package imports only the packages below it, and no import circle.

Every import counts (top level, inside functions, under ``TYPE_CHECKING``): a lazy import is
still a dependency. The order, top to bottom: cli ► ui ► run ► code ► data ► git ► the
shared modules (plan, config, proc, errors). Inside data, ``snapshots`` is the bottom: it
imports nothing else of data, nor git.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "rollback"
LAYERS = ("cli", "ui", "run", "code", "data", "git")  # top to bottom; the rest is shared


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


def _imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, *([base] if base else [])])
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            for target in targets:
                while target and target not in mods:
                    target = target.rsplit(".", 1)[0] if "." in target else ""
                if target and target != mod and not mod.startswith(target + "."):
                    edges[mod].add(target)
    return edges


def layer(mod: str) -> int:
    parts = mod.split(".")
    if len(parts) > 1 and parts[1] == "__main__":
        return 0
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else len(LAYERS)


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return found


EDGES = _imports(_modules())


def test_the_checker_sees_imports() -> None:
    # guards the checks below against passing because they read nothing
    assert "rollback.git.repo" in EDGES["rollback.git.history"]
    assert "rollback.run.context" in EDGES["rollback.run.execute"]
    assert circles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_no_import_circles() -> None:
    assert circles(EDGES) == []


@pytest.mark.parametrize("mod", sorted(EDGES))
def test_imports_only_downwards(mod: str) -> None:
    upward = sorted(t for t in EDGES[mod] if t != "rollback" and layer(t) < layer(mod))
    assert upward == [], f"{mod} imports a package above it"


def test_snapshots_are_the_bottom_of_data() -> None:
    bad = {
        (m, t)
        for m, targets in EDGES.items()
        if m.startswith("rollback.data.snapshots")
        for t in targets
        if t.startswith(("rollback.git", "rollback.data."))
        and not t.startswith("rollback.data.snapshots")
    }
    assert bad == set()


def test_only_git_repo_imports_gitpython() -> None:
    importers = set()
    for mod, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n == "git" or n.startswith(("git.", "gitdb")) for n in names):
                importers.add(mod)
    assert importers == {"rollback.git.repo"}
