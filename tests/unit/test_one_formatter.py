"""Numbers are formatted in one place (tasks/fmt.py): no other module defines a percent formatter."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
PERCENT_NAME = re.compile(r"^_?(pct|percent|fmt_pct|format_percent)$")


def test_the_only_percent_formatter_is_in_tasks_fmt() -> None:
    found = []
    for tree in ("tasks", "flows", "flywheel"):
        for path in sorted((REPO / tree).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and PERCENT_NAME.match(node.name):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}")
    assert found == [next(f for f in found if f.startswith("tasks/fmt.py"))], found
