"""The shape of ``flywheel.tasks.stats``: a package whose ``__init__`` is the public face
(``__all__``), with one private module per subject, and every name the tree imports from it
exported there."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import flywheel.tasks.stats as stats

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_every_module_of_the_package_is_private() -> None:
    modules = [m.name for m in pkgutil.iter_modules(stats.__path__)]
    assert modules and all(name.startswith("_") for name in modules)


def test_all_lists_exactly_what_the_face_exports() -> None:
    for name in stats.__all__:
        assert getattr(stats, name) is not None
    public = {n for n, v in vars(stats).items()
              if not n.startswith("_") and n != "annotations" and not inspect.ismodule(v)}
    assert public == set(stats.__all__)


def _imported_from(module: str) -> set[str]:
    """Names imported from ``module`` by the tree's Python files outside ``tasks/stats/``."""
    names: set[str] = set()
    for folder in ("tasks", "flows", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            if (ROOT / "tasks" / "stats") in path.parents:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == module:
                    names |= {alias.name for alias in node.names}
    return names


def test_every_name_the_tree_imports_from_stats_is_in_all() -> None:
    assert _imported_from("flywheel.tasks.stats") <= set(stats.__all__)


def test_no_module_outside_the_package_imports_its_private_modules() -> None:
    for module in (m.name for m in pkgutil.iter_modules(stats.__path__)):
        importlib.import_module(f"flywheel.tasks.stats.{module}")
        assert not _imported_from(f"flywheel.tasks.stats.{module}"), module
