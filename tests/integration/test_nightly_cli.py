"""``flywheel nightly`` as a user runs it: backfill in order, re-running one date, bad usage, and a
run killed mid-way (SIGKILL) then re-run ending with the same tables as an uninterrupted run."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from flywheel.flows.steps import STEP_ORDER
from flywheel.tasks.sample_data import SampleSpec, write_sample_data

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SPEC = SampleSpec(days=4, users=500, seed=3)
FIRST, LAST = "2026-11-01", "2026-11-04"
ENV: dict[str, str] = {}  # set by the module's server fixture

# The derived and loaded tables, without the columns that record when a row was written. Each
# capability whose step joins the night adds its derived tables here.
TABLES = {
    "requests": "SELECT * EXCLUDE (ingested_at) FROM requests",
    "feedback": "SELECT * EXCLUDE (ingested_at) FROM feedback",
    "rejected_records": "SELECT * EXCLUDE (rejected_id, rejected_at) FROM rejected_records",
    "ingest_ledger": "SELECT * EXCLUDE (ingested_at) FROM ingest_ledger",
    "monitor_metrics": "SELECT * FROM monitor_metrics",
    "monitor_alerts": "SELECT * FROM monitor_alerts",
}


def _flywheel(*args: str, db: Path, project: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(["flywheel", "--db", str(db), "--project-dir", str(project), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**ENV, **(env or {})}, start_new_session=True)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        _kill_group(proc)
    return proc.returncode, out, err


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the command and anything it started, by process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _checksums(db: Path) -> dict[str, tuple[int, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            name: con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(CAST(t AS VARCHAR), '|' ORDER BY CAST(t AS VARCHAR)), '')) "
                f"FROM ({query}) t"
            ).fetchone()
            for name, query in TABLES.items()
        }
    finally:
        con.close()


@pytest.fixture(scope="module", autouse=True)
def server(prefect_api: dict[str, str]) -> Iterator[None]:
    """The session's Prefect server for the module's commands (each would otherwise start its own)."""
    ENV.update(os.environ, PYTHONPATH=str(REPO))
    yield
    ENV.clear()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nightly-cli")
    write_sample_data(root / "project", SPEC)
    return root


@pytest.fixture(scope="module")
def reference(project: Path) -> dict[str, tuple[int, str]]:
    """An uninterrupted backfill over the sample days."""
    db = project / "reference.duckdb"
    code, out, err = _finish(_flywheel("nightly", "--from", FIRST, "--to", LAST, "--json",
                                       db=db, project=project / "project"))
    assert code == 0, err[-3000:]
    nights = json.loads(out)["nights"]
    assert [n["run_date"] for n in nights] == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    assert all(n["ok"] for n in nights)
    steps = [s["step"] for s in nights[0]["summary"]["steps"]]
    assert steps == list(STEP_ORDER)  # the summary lists the steps in the table's order
    con = duckdb.connect(str(db), read_only=True)
    try:
        order = [str(r[0]) for r in con.execute(
            "SELECT run_date FROM runs WHERE step = 'nightly' ORDER BY started_at").fetchall()]
    finally:
        con.close()
    assert order == [n["run_date"] for n in nights], "the nights ran in date order"
    return _checksums(db)


def test_rerunning_one_date_keeps_the_tables_and_logs_are_structured(
    project: Path, reference: dict[str, tuple[int, str]]
) -> None:
    db = project / "reference.duckdb"
    code, out, err = _finish(_flywheel("nightly", "--date", "2026-11-03", db=db, project=project / "project",
                                       env={"PREFECT_LOGGING_HANDLERS_CONSOLE_FORMATTER": "json"}))
    assert code == 0, err[-3000:]
    assert out.startswith("2026-11-03: ok (ingest ok")
    assert _checksums(db) == reference
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    events = [r["flywheel"] for r in records if "flywheel" in r]
    finished = [(e["run_date"], e["step"], e["status"]) for e in events if e["event"] == "step_finished"]
    steps = [step for _, step, _ in finished]
    assert sorted(steps) == sorted(STEP_ORDER)  # each step once (concurrent steps in any order)
    assert {(night, status) for night, _, status in finished} == {("2026-11-03", "ok")}
    assert all(r["flow_run_id"] for r in records if "flywheel" in r)


def test_bad_usage_exits_2_naming_the_problem(project: Path) -> None:
    for args, expected in ((["--from", LAST, "--to", FIRST], "is before --from"),
                           (["--date", FIRST, "--from", FIRST, "--to", LAST], "either --date"),
                           (["--date", "yesterday"], "bad date")):
        code, _, err = _finish(_flywheel("nightly", *args, db=project / "x.duckdb", project=project))
        assert code == 2 and expected in err and "Traceback" not in err, (args, err[-2000:])


def test_a_run_killed_mid_way_then_rerun_gives_the_tables_of_an_uninterrupted_run(
    project: Path, reference: dict[str, tuple[int, str]]
) -> None:
    db = project / "killed.duckdb"
    proc = _flywheel("nightly", "--from", FIRST, "--to", LAST, db=db, project=project / "project")
    marker = "event=step_started run_date=2026-11-03 step=monitoring"
    seen = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 240
        for line in proc.stderr:
            seen.append(line)
            if marker in line or time.monotonic() > deadline:
                break
    finally:
        _kill_group(proc)
    assert any(marker in line for line in seen), "".join(seen[-30:])
    assert proc.returncode == -signal.SIGKILL
    con = duckdb.connect(str(db), read_only=True)
    try:
        left = con.execute("SELECT run_date, step, status FROM runs ORDER BY started_at").fetchall()
    finally:
        con.close()
    running = {(str(d), s) for d, s, st in left if st == "running"}
    # the night and the steps running at once when it died (monitoring among them)
    assert {("2026-11-03", "nightly"), ("2026-11-03", "monitoring")} <= running, left
    assert {d for d, _ in running} == {"2026-11-03"}, left
    assert _checksums(db) != reference, "the kill landed before the end: the tables are not complete"

    code, _, err = _finish(_flywheel("nightly", "--from", FIRST, "--to", LAST, db=db,
                                     project=project / "project"))
    assert code == 0, err[-3000:]
    assert _checksums(db) == reference
    con = duckdb.connect(str(db), read_only=True)
    try:
        statuses = dict(con.execute(
            "SELECT status, count(*) FROM runs WHERE run_date = '2026-11-03' GROUP BY status").fetchall())
    finally:
        con.close()
    assert statuses.get("crashed") == len(running) and "running" not in statuses
    # Reports are compared here too once the report step exists (reports/<date>/ file hashes).
