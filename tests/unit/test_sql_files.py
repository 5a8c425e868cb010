"""Every SQL statement is named by a literal, every name has a file, every file has a user.

The tree is read with :mod:`ast`: a statement name is a string literal of the form
``<folder of sql/>/<stem>`` anywhere in the code (at a call site, or in a table of statements
declared once such as ``tasks/ingest/_statements.py``), so a search for a file's name finds the
code that runs it. Migrations are found by folder (``tasks/db.py``), not by name.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SQL_ROOT = REPO / "sql"
# the package's code, where a name must be a literal; bench/ and tests/ only use statements
PACKAGE_TREES = ("tasks", "flows", "flywheel")
USER_TREES = (*PACKAGE_TREES, "bench", "tests")
# the functions of tasks/db.py that take a statement name, and the position of the name
NAME_ARGUMENT = {"run": 1, "fetch_dicts": 1, "sql_text": 0}
# Names still built at run time, each with the glob of the files it reaches (none today; an
# entry whose code is gone is ignored).
KNOWN_BUILT: dict[str, tuple[str, ...]] = {}


def _statement_files() -> set[str]:
    return {
        path.relative_to(SQL_ROOT).with_suffix("").as_posix()
        for path in SQL_ROOT.rglob("*.sql")
        if path.relative_to(SQL_ROOT).parts[0] != "migrations"
    }


def _sql_folders() -> set[str]:
    return {p.name for p in SQL_ROOT.iterdir() if p.is_dir() and p.name != "migrations"}


def _python_files(trees: tuple[str, ...]) -> Iterator[tuple[str, ast.Module]]:
    for tree in trees:
        for path in sorted((REPO / tree).rglob("*.py")):
            yield path.relative_to(REPO).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _looks_like_statement_name(value: str, folders: set[str]) -> bool:
    folder, _, stem = value.partition("/")
    return folder in folders and bool(stem) and stem.replace("_", "").isalnum() and stem.islower()


def statement_literals(trees: tuple[str, ...] = USER_TREES) -> dict[str, list[str]]:
    """Every string literal in ``trees`` shaped like a statement name -> where it is."""
    folders = _sql_folders()
    found: dict[str, list[str]] = {}
    for where, module in _python_files(trees):
        for node in ast.walk(module):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and _looks_like_statement_name(node.value, folders):
                found.setdefault(node.value, []).append(f"{where}:{node.lineno}")
    return found


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _assembled_names(where: str, module: ast.Module) -> list[str]:
    """Call sites in ``module`` whose statement name is assembled at run time (an f-string,
    ``+``, ``%``, ``.format``); a name passed through a variable or a declared table is not."""
    built = []
    for node in ast.walk(module):
        if not isinstance(node, ast.Call) or _called_name(node) not in NAME_ARGUMENT:
            continue
        position = NAME_ARGUMENT[str(_called_name(node))]
        if len(node.args) <= position:
            continue
        name = node.args[position]
        if isinstance(name, ast.JoinedStr | ast.BinOp) or (
                isinstance(name, ast.Call) and _called_name(name) == "format"):
            built.append(f"{where}:{node.lineno}: {ast.unparse(name)}")
    return built


def built_statement_names(trees: tuple[str, ...] = (*PACKAGE_TREES, "bench")) -> list[str]:
    """Every assembled statement name in ``trees`` outside :data:`KNOWN_BUILT`."""
    return [site for where, module in _python_files(trees) if where not in KNOWN_BUILT
            for site in _assembled_names(where, module)]


def _reached_by_known_built(name: str) -> bool:
    return any(
        (REPO / where).is_file() and any(fnmatch.fnmatch(name, glob) for glob in globs)
        for where, globs in KNOWN_BUILT.items()
    )


def test_no_statement_name_is_assembled_at_run_time() -> None:
    assert built_statement_names() == []


def test_every_statement_name_in_the_code_has_a_file() -> None:
    files = _statement_files()
    missing = {name: where for name, where in statement_literals().items() if name not in files}
    assert missing == {}


def test_every_statement_file_is_named_somewhere() -> None:
    used = set(statement_literals())
    unused = sorted(name for name in _statement_files() - used if not _reached_by_known_built(name))
    assert unused == []


def test_the_check_rejects_a_name_that_is_not_a_literal() -> None:
    module = ast.parse(
        'run(con, f"ingest/insert_{kind}")\n'
        'sql_text("ab/" + table)\n'
        'fetch_dicts(con, "evals/{}".format(name))\n'
        'run(con, "ingest/insert_requests")\n'
        'run(con, STATEMENTS[kind].insert)\n'
    )
    assert [site.split(":")[1] for site in _assembled_names("x.py", module)] == ["1", "2", "3"]
