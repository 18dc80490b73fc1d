"""The package's house, drawn from its imports: modules are rooms, imports are arrows, and a
module stands one floor above everything it imports. No circles (so no arrow runs back up), core
imports no framework, the request travels typed, and backend quirks live in the profile.

`python -m tests.test_layout` prints the floors.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "integrations" / "zenllama"
CORE = PACKAGE / "core"
FRAMEWORKS = ("langchain", "langchain_core", "llama_index", "pydantic")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, at any depth of its code (TYPE_CHECKING blocks and
    function bodies too: an arrow is an arrow, whenever it is followed)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def house(root: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the package modules it imports (itself and its own package excluded)."""
    files = {_module_name(p): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = {t for t in _imports(path) if t in files and t != name}
        # `from . import x` inside a package names the package too: the arrow is to x only.
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def floors(graph: dict[str, set[str]]) -> dict[str, int]:
    """Floor of each module: 0 for one importing nothing of the package, else one above the
    highest module it imports (defined only without circles)."""
    level: dict[str, int] = {}

    def floor(node: str) -> int:
        if node not in level:
            level[node] = 1 + max((floor(t) for t in graph[node]), default=-1)
        return level[node]

    for node in graph:
        floor(node)
    return level


def test_no_circles_in_the_package() -> None:
    assert circles(house()) == []


def test_core_stands_on_fewer_floors_than_thirteen() -> None:
    graph = house(CORE)
    assert not circles(graph)
    assert max(floors(graph).values()) + 1 < 13


def _core_sources() -> Iterator[tuple[Path, str]]:
    for path in sorted(CORE.rglob("*.py")):
        yield path, path.read_text()


def test_core_imports_no_framework() -> None:
    for path in sorted(CORE.rglob("*.py")):
        roots = {name.split(".")[0] for name in _imports(path)}
        assert not roots & set(FRAMEWORKS), f"{path.name} imports {roots & set(FRAMEWORKS)}"


def test_the_request_travels_typed_through_core() -> None:
    for path, text in _core_sources():
        assert "**request" not in text, f"{path.relative_to(PACKAGE)} passes **request"


def test_backend_names_are_checked_only_in_the_profile_module() -> None:
    name_check = re.compile(r"""(==|!=|\bin\b)\s*\(?["'](llama-server|zen|deepseek)["']""")
    for path, text in _core_sources():
        if path.name == "backends.py":
            continue
        hits = [line.strip() for line in text.splitlines() if name_check.search(line)]
        assert not hits, f"{path.relative_to(PACKAGE)} checks a backend's name: {hits}"


if __name__ == "__main__":
    for root in (PACKAGE, CORE):
        graph = house(root)
        loops = circles(graph)
        print(f"{root.name}: {len(graph)} rooms, {sum(map(len, graph.values()))} arrows")
        if loops:
            print("  circles:", loops)
            continue
        levels = floors(graph)
        for n in range(max(levels.values()) + 1):
            print(f"  floor {n}: {', '.join(sorted(m for m, lv in levels.items() if lv == n))}")
