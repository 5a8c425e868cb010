"""No function in ``tasks/`` or ``flows/`` is longer than 60 lines (issue 17).

A function's length is what :mod:`ast` gives: from its ``def`` line (decorators not counted) to
its last line, docstring, comments and blank lines included. Nested functions and methods are
measured on their own (and count inside the function that holds them too).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("tasks", "flows")
MAX_LINES = 60


def long_functions(source: str, max_lines: int = MAX_LINES) -> list[tuple[int, str, int]]:
    """(line, name, length) of every function of ``source`` longer than ``max_lines``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > max_lines:
                found.append((node.lineno, node.name, length))
    return sorted(found)


def test_no_function_in_tasks_or_flows_is_over_60_lines() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line} {name} ({length} lines)"
        for folder in FOLDERS
        for path in sorted((REPO / folder).rglob("*.py"))
        for line, name, length in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"functions over {MAX_LINES} lines: split them:\n" + "\n".join(offenders)


def test_the_walk_finds_every_python_file_of_both_folders() -> None:
    for folder in FOLDERS:
        assert (REPO / folder / "__init__.py").is_file()
        assert len(list((REPO / folder).rglob("*.py"))) > 5


def test_a_long_function_is_named_with_its_line_and_length() -> None:
    body = "\n".join(f"        x{i} = {i}" for i in range(60))
    source = (f"def short():\n    return 1\n\n\nclass C:\n    async def long(self):\n{body}\n\n"
              f"    def exactly_60(self):\n" + "\n".join(f"        y{i} = {i}" for i in range(59))
              + "\n")
    assert long_functions(source) == [(6, "long", 61)]
    assert long_functions(source, max_lines=59) == [(6, "long", 61), (68, "exactly_60", 60)]
