"""The nightly lock (real processes holding a real OS lock) and the runs table."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from flywheel.tasks.lock import NightlyBusyError, holder_of, lock_path, nightly_lock
from flywheel.tasks.runs import StepRecord, details_of, latest_runs, mark_crashed, record_step, runs_for_date

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
HOLD = (
    "import sys, time; from flywheel.tasks.lock import nightly_lock\n"
    "with nightly_lock(sys.argv[1], timeout_s=5, purpose='nightly 2026-11-02'):\n"
    "    print('held', flush=True); time.sleep(float(sys.argv[2]))\n"
)


def _holder(db: Path, seconds: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_waits_a_bounded_time_then_names_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    proc = _holder(db, 30)
    try:
        started = time.monotonic()
        with pytest.raises(NightlyBusyError) as info, nightly_lock(db, timeout_s=0.6, purpose="test"):
            pass
        waited = time.monotonic() - started
        message = str(info.value)
        assert f"process {proc.pid}" in message and "nightly 2026-11-02" in message
        assert str(lock_path(db)) in message and "FLYWHEEL_NIGHTLY_LOCK_TIMEOUT" in message
        assert waited >= 0.6
    finally:
        proc.kill()
        proc.wait()


def test_the_waiting_run_gets_the_lock_when_the_holder_finishes(tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    proc = _holder(db, 1.0)
    try:
        with nightly_lock(db, timeout_s=20, purpose="second"):
            assert proc.poll() is not None, "got the lock while the first run still held it"
            assert holder_of(db)["purpose"] == "second"
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    proc = _holder(db, 60)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with nightly_lock(db, timeout_s=2, purpose="after the crash"):
        assert holder_of(db)["pid"] == os.getpid()


def test_the_lock_is_reentrant_inside_one_process(tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    with nightly_lock(db, timeout_s=1, purpose="backfill"), nightly_lock(db, timeout_s=1, purpose="night"):
        assert holder_of(db)["purpose"] == "backfill"
    with nightly_lock(db, timeout_s=1, purpose="again"):
        pass


def _record(run_id: str, night: str, step: str, status: str, minute: int, **kw: object) -> StepRecord:
    return StepRecord(run_id=run_id, run_date=date.fromisoformat(night), step=step, status=status,
                      started_at=datetime(2026, 11, 3, 2, minute, tzinfo=UTC), **kw)


def test_runs_rows_are_replaced_by_the_final_status_and_crashed_runs_are_marked(db_path: Path) -> None:
    record_step(db_path, _record("a", "2026-11-02", "nightly", "running", 0))
    record_step(db_path, _record("a", "2026-11-02", "ingest", "running", 1))
    record_step(db_path, _record("a", "2026-11-02", "ingest", "ok", 1, seconds=2.5,
                                 details={"requests_inserted": 10}))
    record_step(db_path, _record("a", "2026-11-02", "monitoring", "running", 2))  # then killed
    crashed = mark_crashed(db_path, "b")
    assert sorted(r["step"] for r in crashed) == ["monitoring", "nightly"]
    record_step(db_path, _record("b", "2026-11-02", "nightly", "running", 30))
    assert mark_crashed(db_path, "b") == [], "a run never marks its own rows"
    record_step(db_path, _record("b", "2026-11-02", "nightly", "ok", 30, seconds=9.0))
    rows = runs_for_date(db_path, "2026-11-02")
    assert [(r["run_id"], r["step"], r["status"]) for r in rows] == [
        ("b", "nightly", "ok"),
        ("a", "nightly", "crashed"), ("a", "ingest", "ok"), ("a", "monitoring", "crashed"),
    ]
    assert rows[2]["details"] == {"requests_inserted": 10} and rows[2]["seconds"] == 2.5
    assert "killed" in rows[3]["error"]
    latest = latest_runs(db_path, "2026-11-01", "2026-11-30")
    assert [(r["run_id"], r["step"]) for r in latest] == [("b", "nightly")]


def test_an_unknown_status_is_refused(db_path: Path) -> None:
    with pytest.raises(ValueError):
        record_step(db_path, _record("a", "2026-11-02", "ingest", "done", 0))


def test_details_keep_top_level_counts_and_notes() -> None:
    value = {"requests_inserted": 3, "ok": True, "note": "x" * 900, "failures": [1], "rate": 0.5}
    assert details_of(value) == {"requests_inserted": 3, "ok": True, "note": "x" * 500, "rate": 0.5}
    assert details_of(None) == {} and details_of([1, 2]) == {}
