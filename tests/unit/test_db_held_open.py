"""tasks/db.py: held_open keeps one instance open for a night's many short connections."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from flywheel.tasks.db import connect, held_open
from flywheel.tasks.errors import DatabaseBusyError

pytestmark = pytest.mark.unit


def _other_process_opens(db: Path) -> bool:
    code = ("import sys, duckdb\ntry:\n    duckdb.connect(sys.argv[1]).close()\nexcept duckdb.IOException:\n"
            "    sys.exit(3)\n")
    return subprocess.run([sys.executable, "-c", code, str(db)], check=False).returncode == 0


def test_connections_inside_the_span_share_the_open_instance_and_see_each_others_writes(
    db_path: Path,
) -> None:
    with held_open(db_path):
        with connect(db_path) as con:
            con.execute("CREATE TABLE t (x INTEGER)")
            con.execute("INSERT INTO t VALUES (1)")
        with connect(db_path, read_only=True) as con:  # a reader gets the open instance
            assert con.execute("SELECT count(*) FROM t").fetchone() == (1,)
        assert not _other_process_opens(db_path), "the file is held for the span"
        errors: list[BaseException] = []

        def write(n: int) -> None:
            try:
                with connect(db_path) as con:
                    con.execute("INSERT INTO t SELECT ? FROM range(100)", [n])
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
    assert _other_process_opens(db_path), "released at the end of the span"
    with connect(db_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM t").fetchone() == (401,)


def test_threads_opening_a_new_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            with connect(db) as con:
                con.execute("SELECT count(*) FROM requests").fetchone()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_busy_file_still_names_the_holder(db_path: Path) -> None:
    with connect(db_path):
        pass
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time, duckdb\n"
                               "c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(30)",
                               str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(DatabaseBusyError, match="database is busy"), held_open(db_path, timeout_s=0.2):
            pass
    finally:
        holder.kill()
        holder.wait()
