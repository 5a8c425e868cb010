"""A process killed (SIGKILL) mid-ingest leaves no partial file; the rerun finishes the job."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import feedback_record, request_record

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FILES, PER_FILE = 6, 30_000
INGEST = (
    "import sys; from flywheel.tasks.config import load_settings; from flywheel.tasks.ingest import ingest_paths; "
    "ingest_paths(load_settings(db=sys.argv[1], project_dir=sys.argv[2]), [sys.argv[2]])"
)


def _write_landing(root: Path) -> None:
    for f in range(FILES):
        lines = [json.dumps(request_record(f"{f}-{i}", output="answer " * 20)) for i in range(PER_FILE)]
        lines[7] = "not json"  # every file also has a quarantined line
        (root / f"requests-{f}.jsonl").write_text("\n".join(lines) + "\n")
        feedback = [json.dumps(feedback_record(f"{f}-{i}")) for i in range(0, PER_FILE, 10)]
        (root / f"feedback-{f}.jsonl").write_text("\n".join(feedback) + "\n")


def _assert_no_partial_file(db: Path) -> tuple[int, int]:
    con = duckdb.connect(str(db))
    try:
        per_file = con.execute(
            "SELECT l.path, l.inserted, l.rejected, "
            "  (SELECT count(*) FROM requests r WHERE r.source_file = l.path) "
            "+ (SELECT count(*) FROM feedback f WHERE f.source_file = l.path), "
            "  (SELECT count(*) FROM rejected_records x WHERE x.file = l.path) "
            "FROM ingest_ledger l"
        ).fetchall()
        for path, inserted, rejected, rows, rejects in per_file:
            assert (rows, rejects) == (inserted, rejected), path
        ledger_paths = {p for p, *_ in per_file}
        stray = con.execute(
            "SELECT count(*) FROM (SELECT source_file FROM requests UNION ALL "
            "SELECT source_file FROM feedback UNION ALL SELECT file FROM rejected_records) t(f) "
            "WHERE f NOT IN (SELECT path FROM ingest_ledger)"
        ).fetchone()[0]
        assert stray == 0
        return len(ledger_paths), con.execute("SELECT count(*) FROM requests").fetchone()[0]
    finally:
        con.close()


def test_sigkill_mid_ingest_then_rerun(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    _write_landing(landing)
    db = tmp_path / "f.duckdb"
    killed_with_partial_progress = 0
    for delay in (1.5, 2.5, 3.5):
        proc = subprocess.Popen([sys.executable, "-c", INGEST, str(db), str(landing)])
        time.sleep(delay)
        finished = proc.poll() is not None
        proc.kill()
        proc.wait()
        if finished:
            break
        files_done, _ = _assert_no_partial_file(db)
        killed_with_partial_progress += 0 < files_done < 2 * FILES
    done = subprocess.run([sys.executable, "-c", INGEST, str(db), str(landing)], timeout=300)
    assert done.returncode == 0
    files_done, requests = _assert_no_partial_file(db)
    assert files_done == 2 * FILES
    assert requests == FILES * (PER_FILE - 1)
    assert killed_with_partial_progress >= 1, "no kill landed mid-run: raise FILES or PER_FILE"
