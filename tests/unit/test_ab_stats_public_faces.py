"""The shape of ``flywheel.tasks.stats`` and ``flywheel.tasks.ab``: packages whose ``__init__``
is the public face (``__all__``), with private modules by subject inside, every name the tree
imports from them exported there, and no other package reaching into their private modules."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import flywheel.tasks.ab as ab
import flywheel.tasks.stats as stats

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [pytest.param(stats, ROOT / "tasks" / "stats", id="stats"),
            pytest.param(ab, ROOT / "tasks" / "ab", id="ab")]


def _imported_from(module: str, outside: Path, folders: tuple[str, ...]) -> set[str]:
    """Names imported from ``module`` by the Python files of ``folders`` outside ``outside``."""
    names: set[str] = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            if outside in path.parents:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == module:
                    names |= {alias.name for alias in node.names}
    return names


@pytest.mark.parametrize(("package", "folder"), PACKAGES)
def test_every_module_of_the_package_is_private(package: ModuleType, folder: Path) -> None:
    modules = [m.name for m in pkgutil.iter_modules(package.__path__)]
    assert modules and all(name.startswith("_") for name in modules)


@pytest.mark.parametrize(("package", "folder"), PACKAGES)
def test_all_lists_exactly_what_the_face_exports(package: ModuleType, folder: Path) -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None
    public = {n for n, v in vars(package).items()
              if not n.startswith("_") and n != "annotations" and not inspect.ismodule(v)}
    assert public == set(package.__all__)


@pytest.mark.parametrize(("package", "folder"), PACKAGES)
def test_every_name_the_tree_imports_from_the_package_is_in_all(package: ModuleType,
                                                                 folder: Path) -> None:
    used = _imported_from(package.__name__, folder, ("tasks", "flows", "tests", "bench"))
    assert used <= set(package.__all__)


@pytest.mark.parametrize(("package", "folder"), PACKAGES)
def test_no_other_package_imports_its_private_modules(package: ModuleType, folder: Path) -> None:
    for module in (m.name for m in pkgutil.iter_modules(package.__path__)):
        importlib.import_module(f"{package.__name__}.{module}")
        assert not _imported_from(f"{package.__name__}.{module}", folder,
                                  ("tasks", "flows", "bench")), module
