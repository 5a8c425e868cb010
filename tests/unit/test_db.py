"""The store: migrations, schema versions, the writer lock."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from flywheel.tasks import db
from flywheel.tasks.errors import DatabaseBusyError, SchemaVersionError

pytestmark = pytest.mark.unit


def test_new_file_is_created_at_the_latest_version(db_path: Path) -> None:
    with db.connect(db_path) as con:
        assert db.schema_version(con) == db.latest_version()
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"requests", "feedback", "rejected_records", "ingest_ledger"} <= tables


def test_an_older_file_is_migrated_forward(db_path: Path) -> None:
    first_version, first_file = db.migrations()[0]
    con = duckdb.connect(str(db_path))
    db.run(con, "schema/ensure_version_table")
    con.execute(first_file.read_text())
    db.run(con, "schema/record_version", {"version": first_version, "name": first_file.stem})
    con.close()
    with db.connect(db_path) as con:
        versions = [r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()]
    assert versions == [v for v, _ in db.migrations()]


def test_requests_and_feedback_lose_their_id_index_and_keep_every_row_in_order(db_path: Path) -> None:
    """Migration 022 rebuilds requests and feedback without PRIMARY KEY (an index DuckDB writes
    again at every checkpoint): a store with rows at schema 21 keeps them, in the same order."""
    con = duckdb.connect(str(db_path))
    db.run(con, "schema/ensure_version_table")
    for version, path in db.migrations():
        if version > 21:
            break
        con.execute(path.read_text())
        db.run(con, "schema/record_version", {"version": version, "name": path.stem})
    con.execute("""INSERT INTO requests (request_id, ts, user_id, model, output, source_file, ingested_at)
                   SELECT 'req-' || (99 - i), TIMESTAMPTZ '2026-11-01' + i * INTERVAL 1 MINUTE, 'u', 'm',
                          'out ' || i, 'f', now() FROM range(100) AS t(i)""")
    con.execute("""INSERT INTO feedback (feedback_id, request_id, ts, kind, value, source_file, ingested_at)
                   SELECT 'fb-' || i, 'req-' || i, TIMESTAMPTZ '2026-11-02', 'thumbs', 1, 'f', now()
                   FROM range(10) AS t(i)""")
    before = con.execute("SELECT * FROM requests").fetchall(), con.execute("SELECT * FROM feedback").fetchall()
    con.close()
    with db.connect(db_path) as con:
        assert (con.execute("SELECT * FROM requests").fetchall(),
                con.execute("SELECT * FROM feedback").fetchall()) == before
        assert con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name IN "
                           "('requests', 'feedback') AND constraint_type = 'PRIMARY KEY'").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM request_prompt_versions").fetchone() == (100,)


def test_connections_draw_no_progress_bar_on_standard_output(db_path: Path) -> None:
    """DuckDB draws a progress bar on stdout for a query over two seconds: inside a command's
    --json output. Every connection turns it off (a slow query in a child process prints
    nothing), and keeps times in UTC."""
    with db.connect(db_path) as con:
        assert con.execute("SELECT current_setting('enable_progress_bar'), "
                           "current_setting('TimeZone')").fetchone() == (False, "UTC")
    script = ("from flywheel.tasks import db\n"
              f"with db.connect({str(db_path)!r}) as con:\n"
              "    con.execute('SELECT count(*) FROM range(1500000000) t(i) WHERE i % 7 = 3').fetchall()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_a_file_from_a_newer_flywheel_is_refused(db_path: Path) -> None:
    with db.connect(db_path) as con:
        db.run(con, "schema/record_version", {"version": 999, "name": "999_future"})
    with pytest.raises(SchemaVersionError, match="newer than this flywheel"), db.connect(db_path):
        pass


def test_migrating_twice_changes_nothing(db_path: Path) -> None:
    with db.connect(db_path) as con:
        before = con.execute("SELECT count(*) FROM schema_version").fetchone()
    with db.connect(db_path) as con:
        assert con.execute("SELECT count(*) FROM schema_version").fetchone() == before


def test_a_second_writer_waits_then_says_the_database_is_busy(db_path: Path) -> None:
    with db.connect(db_path):
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(db_path)!r}); print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(DatabaseBusyError) as caught, db.connect(db_path, timeout_s=0.6):
            pass
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert "database is busy" in str(caught.value)
    assert str(db_path) in str(caught.value)
    assert f"process {holder.pid}" in str(caught.value)
    assert 0.5 <= waited < 5


def test_the_writer_gets_the_file_once_the_other_process_is_done(db_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(db_path)!r}); print('held', flush=True); time.sleep(0.8)"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with db.connect(db_path, timeout_s=20) as con:
        assert con.execute("SELECT 1").fetchone() == (1,)
    holder.wait()


def test_every_named_statement_exists_and_is_not_empty() -> None:
    files = list(db.SQL_DIR.rglob("*.sql"))
    assert files
    for path in files:
        assert path.read_text().strip(), path
