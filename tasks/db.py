"""The DuckDB store: opening the file (with a bounded wait for the writer lock), schema
migrations, and running the named SQL statements kept in ``sql/`` (installed as the package data
``flywheel.sql``).

Only this module opens connections. Callers pass the database *path* between tasks and open a
connection for the span of one unit of work with :func:`connect`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import duckdb

from flywheel.tasks.errors import DatabaseBusyError, FlywheelError, SchemaVersionError

SQL_DIR: Traversable = resources.files("flywheel.sql")
MIGRATIONS_DIR = SQL_DIR / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_MIGRATING = threading.Lock()
_HELD: dict[Path, int] = {}  # files held open by held_open in this process (nesting depth)
_HELD_LOCK = threading.Lock()

Params = Mapping[str, Any] | Sequence[Any] | None


@cache
def sql_text(name: str) -> str:
    """The text of ``sql/<name>.sql`` (``name`` may contain a folder: ``ingest/stage_text``)."""
    *folders, stem = name.split("/")
    path = SQL_DIR.joinpath(*folders, f"{stem}.sql")
    if not path.is_file():
        raise FlywheelError(f"no SQL statement named {name!r} (looked for {path})")
    return path.read_text(encoding="utf-8")


def run(con: duckdb.DuckDBPyConnection, name: str, params: Params = None) -> duckdb.DuckDBPyConnection:
    """Execute the named statement with bound parameters; returns the connection for fetching."""
    return con.execute(sql_text(name), params) if params is not None else con.execute(sql_text(name))


def fetch_dicts(con: duckdb.DuckDBPyConnection, name: str, params: Params = None) -> list[dict[str, Any]]:
    """Run a named query and return its rows as dictionaries."""
    cur = run(con, name, params)
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def migrations() -> list[tuple[int, Traversable]]:
    """The numbered migration files, in order."""
    found = []
    for path in sorted((p for p in MIGRATIONS_DIR.iterdir() if p.name.endswith(".sql")),
                       key=lambda p: p.name):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise FlywheelError(f"migration file {path.name} is not named NNN_name.sql")
        found.append((int(match.group(1)), path))
    return found


def latest_version() -> int:
    """The schema version this code writes."""
    return migrations()[-1][0]


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version recorded in an open database (0 for a new file)."""
    run(con, "schema/ensure_version_table")
    return int(run(con, "schema/current_version").fetchone()[0])


def migrate(con: duckdb.DuckDBPyConnection, db_path: Path) -> int:
    """Apply every migration the database lacks, in order; refuse a file from a newer version.

    Any missing version is applied, not only those above the highest one recorded, so a file
    created while migrations were added out of order still ends up complete.
    """
    current = schema_version(con)
    latest = latest_version()
    if current > latest:
        raise SchemaVersionError(
            f"{db_path} has schema version {current}, newer than this flywheel supports "
            f"({latest}). Upgrade flywheel, or point --db at another file."
        )
    applied = {int(row[0]) for row in run(con, "schema/applied_versions").fetchall()}
    for version, path in migrations():
        if version in applied:
            continue
        with transaction(con):
            con.execute(path.read_text(encoding="utf-8"))
            run(con, "schema/record_version", {"version": version, "name": path.name.removesuffix(".sql")})
    return latest


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One all-or-nothing unit of work: committed on success, rolled back on any error."""
    con.begin()
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    con.commit()


def _open(db_path: Path, timeout_s: float, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=read_only)
        except duckdb.IOException as exc:
            message = str(exc)
            if "lock" not in message.lower():
                raise FlywheelError(f"cannot open database {db_path}: {message}") from None
            if time.monotonic() >= deadline:
                holder = re.search(r"\(PID (\d+)\)", message)
                who = f"process {holder.group(1)}" if holder else "another process"
                raise DatabaseBusyError(
                    f"database is busy: {db_path} is being written by {who}; waited "
                    f"{timeout_s:g}s. Try again when it has finished (or raise FLYWHEEL_DB_TIMEOUT)."
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        except duckdb.Error as exc:
            raise FlywheelError(f"cannot open database {db_path}: {exc}") from None


def _check_schema_read_only(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """A read-only connection cannot migrate: the file must have exactly this code's schema."""
    try:
        applied = {int(row[0]) for row in run(con, "schema/applied_versions").fetchall()}
    except duckdb.CatalogException:
        applied = set()
    expected = {version for version, _ in migrations()}
    if applied != expected:
        missing = ", ".join(str(v) for v in sorted(expected - applied)) or "none"
        unknown = ", ".join(str(v) for v in sorted(applied - expected)) or "none"
        raise SchemaVersionError(
            f"{db_path} is not at this flywheel's schema (missing migrations: {missing}; "
            f"unknown: {unknown}); run a writing flywheel command such as "
            "`flywheel prompts sync` with a matching flywheel first."
        )


@contextmanager
def connect(
    db_path: str | Path, *, timeout_s: float = 30.0, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the DuckDB file (creating and migrating it as needed) for one unit of work.

    A second writing process waits up to ``timeout_s`` for the lock, then fails with
    :class:`DatabaseBusyError` naming the file. ``read_only=True`` opens an existing file without
    migrating it (several read-only processes may share it, but none while a writer holds it).
    """
    path = Path(db_path)
    if path.resolve() in _HELD:  # opened and migrated by held_open: reuse the open instance
        con = _open(path, timeout_s)
        try:
            run(con, "schema/connection_settings")
            yield con
        finally:
            con.close()
        return
    if read_only and not path.is_file():
        raise FlywheelError(f"no database at {path}: run `flywheel prompts sync` to create it")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, timeout_s, read_only)
    try:
        run(con, "schema/connection_settings")
        if read_only:
            _check_schema_read_only(con, path)
        else:
            with _MIGRATING:  # threads of one process (a night's steps) share the instance
                migrate(con, path)
        yield con
    finally:
        con.close()


@contextmanager
def held_open(db_path: str | Path, *, timeout_s: float = 30.0,
              memory_limit: str | None = None) -> Iterator[None]:
    """Keep the database open (and migrated) in this process for the span of a night.

    Opening the file costs tens of milliseconds (the instance, its catalog, the schema check);
    every :func:`connect` inside the span reuses the open instance instead (a night opens
    connections a hundred times). Connections asked for ``read_only`` get the open read-write
    instance (DuckDB allows one configuration per file and process). Other processes cannot open
    the file during the span: the nightly lock already keeps other writers out. ``memory_limit``
    bounds DuckDB's memory for the span (``Settings.db_memory_limit``).
    """
    path = Path(db_path).resolve()
    with connect(path, timeout_s=timeout_s) as con:
        if memory_limit is not None:
            try:
                run(con, "schema/memory_limit", {"limit": memory_limit})
            except duckdb.Error as exc:
                raise FlywheelError(f"db_memory_limit = {memory_limit!r}: {exc}") from None
        with _HELD_LOCK:
            _HELD[path] = _HELD.get(path, 0) + 1
        try:
            yield
        finally:
            with _HELD_LOCK:
                _HELD[path] -= 1
                if not _HELD[path]:
                    del _HELD[path]
