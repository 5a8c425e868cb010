"""Every test has exactly one tier, the one its folder gives it (tests/conftest.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO, TIER_OF_FOLDER, TIERS, tier_of


def _declared_tiers(path: Path) -> set[str]:
    """The tier markers a test module names itself (``pytestmark``, decorators)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "mark" and node.attr in TIERS:
            names.add(node.attr)
    return names


def test_every_test_file_sits_in_a_tier_folder() -> None:
    files = sorted((REPO / "tests").rglob("test_*.py"))
    assert len(files) > 50
    assert [str(f.relative_to(REPO)) for f in files if tier_of(f) is None] == []


def test_no_test_file_names_a_tier_other_than_its_folders() -> None:
    clashes = {str(f.relative_to(REPO)): sorted(_declared_tiers(f) - {tier_of(f)})
               for f in sorted((REPO / "tests").rglob("test_*.py"))}
    assert {f: tiers for f, tiers in clashes.items() if tiers} == {}


def test_the_tiers_are_the_markers_pyproject_declares() -> None:
    declared = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert all(f'"{tier}:' in declared for tier in TIER_OF_FOLDER.values())
    assert tier_of(REPO / "tests" / "conftest.py") is None
