"""No import cycle between the modules of ``flywheel.tasks`` and ``flywheel.flows``.

Every import counts: at module level, inside ``if TYPE_CHECKING:`` and inside functions (a
deferred import that hides a cycle still ties the two modules together). The tree is read with
:mod:`ast` (nothing is imported); a package's ``__init__`` is a module like any other, so a
module that imports its own package's public face while the face imports it is a cycle too
(``from package import submodule`` names the submodule, not the face).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# import name -> folder, as setup.py maps them
TREES = {"flywheel.tasks": REPO / "tasks", "flywheel.flows": REPO / "flows"}


def module_files() -> dict[str, Path]:
    """Every module of the walked packages, by import name (a package is its ``__init__``)."""
    found = {}
    for prefix, folder in TREES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((prefix, *parts))] = path
    return found


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _imported(module: str, path: Path, known: Mapping[str, Path]) -> set[str]:
    """The walked modules that ``module`` imports, anywhere in its file."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and path.name == "__init__.py" and node.value in known:
            targets.add(node.value)  # a lazy public face (tasks/_faces.py) names its modules
        elif isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(module, path).split(".")
                anchor = ".".join(package[: len(package) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            # `from package import name` takes the submodule `name` when there is one, else
            # a name of the package's face
            targets.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                           for alias in node.names)
    return {target for target in targets if target in known and target != module}


def import_graph() -> dict[str, set[str]]:
    """Module -> the walked modules it imports."""
    known = module_files()
    return {module: _imported(module, path, known) for module, path in known.items()}


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def test_the_modules_of_tasks_and_flows_import_each_other_without_a_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_walk_sees_the_imports() -> None:
    graph = import_graph()
    assert "flywheel.tasks.db" in graph["flywheel.tasks.runs"]
    assert len(graph) > 50


def test_a_cycle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_a_lazy_face_is_an_import_of_the_modules_it_names() -> None:
    graph = import_graph()
    assert "flywheel.tasks.registry._store" in graph["flywheel.tasks.registry"]
