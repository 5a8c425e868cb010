"""The nightly flow under the Prefect harness: steps, failure isolation, the runs table, the lock,
idempotency, and the monitoring flow's artifact and webhook."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from prefect import flow
from prefect.client.orchestration import get_client

from flywheel.flows.monitoring import monitoring_flow
from flywheel.flows.night import Night
from flywheel.flows.nightly import NightlyFailed, nightly_flywheel, run_steps
from flywheel.flows.steps import STEP_ORDER, STEPS, Step
from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.registry._store import register_version
from flywheel.tasks.runs import runs_for_date
from tests.conftest import request_record
from tests.support.webhook_receiver import webhook_receiver

REPO = Path(__file__).resolve().parents[2]
NIGHT = "2026-11-02"


def _artifacts() -> dict[str, Any]:
    async def latest() -> list[Any]:
        async with get_client() as client:
            return await client.read_latest_artifacts()

    return {a.key: a for a in asyncio.run(latest())}


def _landing(tmp_path: Path, write_jsonl: Callable[..., Path], n: int = 3) -> dict[str, str]:
    write_jsonl(tmp_path / f"landing/{NIGHT}/requests-{NIGHT}.jsonl",
                [request_record(i, timestamp=f"{NIGHT}T10:00:00Z") for i in range(n)])
    return {"run_date": NIGHT, "db_path": str(tmp_path / "f.duckdb"), "project_dir": str(tmp_path)}


def test_the_night_runs_its_steps_after_their_upstream_steps_and_records_them(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    kwargs = _landing(tmp_path, write_jsonl)
    state = nightly_flywheel(**kwargs, return_state=True)
    assert state.is_completed()
    summary = state.result()
    names = [s["step"] for s in summary["steps"]]
    assert names == [n for n in STEP_ORDER if n in names]  # the other steps join in this order
    assert names[0] == "ingest" and "monitoring" in names
    assert summary["failed"] == [] and summary["monitoring"]["requests"] == 3
    assert summary["run_id"] == str(state.state_details.flow_run_id)
    rows = runs_for_date(kwargs["db_path"], NIGHT)
    assert (rows[0]["step"], rows[0]["status"]) == ("nightly", "ok")
    assert sorted((r["step"], r["status"]) for r in rows[1:]) == sorted((n, "ok") for n in names)
    assert {r["run_id"] for r in rows} == {summary["run_id"]}
    by_step = {r["step"]: r for r in rows}
    for step in STEPS:  # each step started once every step it waits for had finished
        assert all(by_step[step.name]["started_at"] >= by_step[up]["finished_at"]
                   for up in step.upstream), step.name
    assert by_step["ingest"]["details"]["requests_inserted"] == 3 and by_step["ingest"]["seconds"] > 0
    assert rows[0]["finished_at"] >= rows[-1]["finished_at"]
    artifacts = _artifacts()
    assert "| monitoring | ok |" in artifacts["nightly-summary"].data
    assert "No alerts" in artifacts["monitoring-alerts"].data


def test_an_unreadable_file_fails_ingest_skips_monitoring_and_fails_the_night_with_its_summary(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    kwargs = _landing(tmp_path, write_jsonl)
    broken = tmp_path / f"landing/{NIGHT}/requests-broken.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"request_id": "x"}\n' * 100)[:-20])  # truncated gzip
    state = nightly_flywheel(**kwargs, return_state=True)
    assert state.is_failed()
    assert "ingest: 1 unreadable file(s)" in state.message and "requests-broken.jsonl.gz" in state.message
    failure = state.result(raise_on_failure=False)
    assert isinstance(failure, NightlyFailed)
    steps = {s["step"]: s for s in failure.summary["steps"]}
    assert steps["ingest"]["status"] == "failed"
    assert failure.summary["ingest"]["requests_inserted"] == 3, "the readable files are kept"
    assert steps["monitoring"] == {"step": "monitoring", "status": "skipped", "seconds": 0.0,
                                   "error": "needs ingest (failed)"}
    rows = {r["step"]: r for r in runs_for_date(kwargs["db_path"], NIGHT)}
    assert rows["nightly"]["status"] == "failed" and rows["monitoring"]["status"] == "skipped"
    assert "| ingest | failed |" in _artifacts()["nightly-summary"].data
    with pytest.raises(NightlyFailed, match="monitoring: needs ingest"):
        nightly_flywheel(**kwargs)


def test_steps_isolate_failures_and_skip_dependents_with_the_reason(tmp_path: Path) -> None:
    calls: list[str] = []

    def fail(night: Night) -> None:
        raise ZeroDivisionError("division by zero")

    steps = (
        Step("evals", fail, "evals", "fails"),
        # a result whose counts share names with the log fields is still logged
        Step("ab-analysis", lambda n: calls.append("ab") or {"experiments": 2, "seconds": 9, "step": 1},
             "ab", "ok"),
        Step("report", lambda n: calls.append("report"), "report", "needs evals",
             needs=("evals",)),
        Step("export", lambda n: calls.append("export"), "export", "waits for a failed step",
             needs=("ab-analysis",), after=("evals",)),
    )
    settings = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)

    @flow(name="steps-under-test")
    def night() -> list[Any]:
        return run_steps(Night("run-1", date(2026, 11, 2), settings), steps)

    outcomes = night()
    assert [(o.step, o.status) for o in outcomes] == [
        ("evals", "failed"), ("ab-analysis", "ok"), ("report", "skipped"), ("export", "ok")]
    assert outcomes[0].error == "ZeroDivisionError: division by zero"
    assert outcomes[2].error == "needs evals (failed)"
    assert sorted(calls) == ["ab", "export"]
    rows = {r["step"]: r["status"] for r in runs_for_date(settings.db_path, "2026-11-02")}
    assert rows == {"evals": "failed", "ab-analysis": "ok", "report": "skipped", "export": "ok"}


def test_rerunning_a_night_gives_the_same_tables(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    kwargs = _landing(tmp_path, write_jsonl, n=50)
    write_jsonl(tmp_path / "landing/2026-11-01/requests-2026-11-01.jsonl",
                [request_record(f"a{i}", timestamp="2026-11-01T09:00:00Z") for i in range(40)])

    def snapshot() -> tuple[Any, ...]:
        con = duckdb.connect(kwargs["db_path"], read_only=True)
        try:
            return tuple(con.execute(q).fetchall() for q in (
                "SELECT * FROM monitor_metrics ORDER BY ALL",
                "SELECT * FROM monitor_alerts ORDER BY ALL",
                "SELECT count(*), count(DISTINCT request_id) FROM requests",
            ))
        finally:
            con.close()

    nightly_flywheel(**kwargs)
    first = snapshot()
    nightly_flywheel(**kwargs)
    assert snapshot() == first
    assert len({r["run_id"] for r in runs_for_date(kwargs["db_path"], NIGHT)}) == 2


def test_a_second_nightly_run_on_the_same_database_waits_then_fails_clearly(
    tmp_path: Path, write_jsonl: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs = _landing(tmp_path, write_jsonl)
    hold = ("import sys, time; from flywheel.tasks.lock import nightly_lock\n"
            "with nightly_lock(sys.argv[1], timeout_s=5, purpose='nightly 2026-11-01'):\n"
            "    print('held', flush=True); time.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", hold, kwargs["db_path"]], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        monkeypatch.setenv("FLYWHEEL_NIGHTLY_LOCK_TIMEOUT", "0.5")
        state = nightly_flywheel(**kwargs, return_state=True)
        assert state.is_failed()
        message = str(state.result(raise_on_failure=False))
        assert "another nightly run is using" in message and f"process {proc.pid}" in message
    finally:
        proc.kill()
        proc.wait()
    assert not Path(kwargs["db_path"]).exists() or runs_for_date(kwargs["db_path"], NIGHT) == []


def _store_with_an_alert(tmp_path: Path, write_jsonl: Callable[..., Path]) -> dict[str, str]:
    kwargs = _landing(tmp_path, write_jsonl)
    write_jsonl(tmp_path / "landing/requests-rogue.jsonl",
                [request_record("r", timestamp=f"{NIGHT}T11:00:00Z", prompt_hash="e" * 64)])
    with connect(kwargs["db_path"]) as con:
        register_version(con, {"name": "p", "model": "gpt-4o-mini", "template": "{{ x }}"})
    nightly_flywheel(**kwargs)
    return kwargs


def test_monitoring_alerts_reach_the_webhook_and_the_artifact(
    tmp_path: Path, write_jsonl: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs = _store_with_an_alert(tmp_path, write_jsonl)
    with webhook_receiver() as receiver:
        monkeypatch.setenv("FLYWHEEL_ALERT_WEBHOOK_URL", receiver.url)
        summary = monitoring_flow(**kwargs)
    assert summary["webhook"] == "sent" and summary["alerts_by_kind"] == {"unknown_prompt_hash": 1}
    assert len(receiver.bodies) == 1
    text = receiver.bodies[0]["text"]
    assert text.startswith(f"flywheel monitoring {NIGHT}: 1 alert(s), 1 critical")
    assert "e" * 64 in text
    assert "unknown_prompt_hash" in _artifacts()["monitoring-alerts"].data


def test_a_failing_webhook_never_fails_the_night(
    tmp_path: Path, write_jsonl: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs = _store_with_an_alert(tmp_path, write_jsonl)
    with webhook_receiver(status=503) as receiver:
        monkeypatch.setenv("FLYWHEEL_ALERT_WEBHOOK_URL", receiver.url)
        state = nightly_flywheel(**kwargs, return_state=True)
    assert state.is_completed()
    monitoring = state.result()["monitoring"]
    assert monitoring["alerts"] == 1 and monitoring["webhook"].startswith("failed: HTTP 503")
    assert len(receiver.bodies) == 2  # one retry


def test_the_demo_runs_every_night_and_reports_the_planted_anomalies(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flywheel.flows.cli.common import app

    result = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path / "demo"), "--days", "4",
                                      "--users", "150", "--plant-anomalies", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [n["ok"] for n in out["nights"]] == [True] * 4
    assert [a["kind"] for a in out["anomalies_planted"]] == ["latency_regression", "input_length_shift"]
    assert Path(out["db"]).is_file() and isinstance(out["alerts"], list)
    human = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path / "again"), "--days", "2",
                                     "--users", "50"])
    assert human.exit_code == 0, human.output
    assert "flywheel demo: 2 of 2 nights ran" in human.stdout
    assert "add --plant-anomalies" in human.stdout
