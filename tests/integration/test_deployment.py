"""The production path, for real: a Prefect server on a loopback port (the session's), a process work pool,
``prefect deploy`` from this repository's prefect.yaml, a manual run of the nightly deployment
with ``prefect deployment run``, executed by ``prefect worker start --run-once``."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from flywheel.tasks.sample_data import SampleSpec, write_sample_data
from tests.support.prefect_server import stop_group

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
POOL = "flywheel"
NIGHT = "2026-11-01"


def _prefect(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run a prefect command; whatever it started (a worker's flow-run process) is stopped with it."""
    proc = subprocess.Popen(["prefect", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        stop_group(proc, grace_s=2)
    assert proc.returncode == 0, f"prefect {' '.join(args)}:\n{out[-3000:]}\n{err[-3000:]}"
    return out + err


def _deployable() -> list[str]:
    """prefect.yaml's deployment names; every one's flow file must exist (a renamed or deleted
    flow fails the test instead of shrinking it)."""
    config = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    missing = [d["entrypoint"] for d in config["deployments"]
               if not (REPO / d["entrypoint"].split(":")[0]).is_file()]
    assert not missing, f"prefect.yaml deploys flows whose file is gone: {missing}"
    return [d["name"] for d in config["deployments"]]


def _api(env: dict[str, str], query: Any) -> Any:
    async def call() -> Any:
        async with get_client() as client:
            return await query(client)

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):
        return asyncio.run(call())


def test_the_nightly_deployment_is_scheduled_and_runs_on_a_process_worker(
    tmp_path: Path, prefect_api: dict[str, str]
) -> None:
    project = tmp_path / "project"
    write_sample_data(project, SampleSpec(days=2, users=150, seed=4))
    db = tmp_path / "store" / "flywheel.duckdb"
    env = {**prefect_api, **os.environ, "PYTHONPATH": str(REPO)}  # the session's server
    _prefect(env, "work-pool", "create", POOL, "--type", "process")
    _prefect(env, "work-pool", "set-concurrency-limit", POOL, "1")
    names = _deployable()
    assert {"nightly", "ingest"} <= set(names)
    _prefect(env, "--no-prompt", "deploy", "--all")
    # the documented way to move the schedule to another timezone
    _prefect(env, "--no-prompt", "deploy", "--name", "nightly", "--timezone", "Europe/Paris")

    deployments = _api(env, lambda c: c.read_deployments())
    assert sorted(d.name for d in deployments) == sorted(names)
    for deployment in deployments:
        assert deployment.work_pool_name == POOL
        assert deployment.global_concurrency_limit is not None
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.pull_steps == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}]
    nightly = next(d for d in deployments if d.name == "nightly")
    assert nightly.entrypoint == "flows/nightly.py:nightly_flywheel"
    assert nightly.parameters == {"run_date": None, "db_path": None, "project_dir": None}
    assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in nightly.schedules] == [
        ("0 2 * * *", "Europe/Paris", True)]
    pool = _api(env, lambda c: c.read_work_pool(POOL))
    assert (pool.type, pool.concurrency_limit) == ("process", 1)

    output = _prefect(env, "deployment", "run", "nightly-flywheel/nightly",
                      "--param", f"run_date={NIGHT}", "--param", f"db_path={db}",
                      "--param", f"project_dir={project}")
    run_id = re.search(r"UUID: ([0-9a-f-]{36})", output).group(1)
    worker = _prefect(env, "worker", "start", "--pool", POOL, "--run-once", timeout=240)
    flow_run = _api(env, lambda c: c.read_flow_run(run_id))
    assert flow_run.state.is_completed(), worker[-4000:]
    assert flow_run.parameters["run_date"] == NIGHT

    # a night with a failing step ends Failed on the worker too, naming what failed
    broken = tmp_path / "broken"
    (broken / "landing").mkdir(parents=True)
    (broken / "landing" / "requests-1.jsonl.gz").write_bytes(gzip.compress(b"{}\n" * 50)[:-10])
    output = _prefect(env, "deployment", "run", "nightly-flywheel/nightly",
                      "--param", f"run_date={NIGHT}", "--param", f"db_path={broken / 'f.duckdb'}",
                      "--param", f"project_dir={broken}")
    failed_id = re.search(r"UUID: ([0-9a-f-]{36})", output).group(1)
    _prefect(env, "worker", "start", "--pool", POOL, "--run-once", timeout=240)
    failed_run = _api(env, lambda c: c.read_flow_run(failed_id))
    assert failed_run.state.is_failed(), failed_run.state
    assert "ingest: 1 unreadable file(s)" in failed_run.state.message
    assert "monitoring: needs ingest (failed)" in failed_run.state.message

    con = duckdb.connect(str(db), read_only=True)
    try:
        requests = con.execute("SELECT count(*) FROM requests").fetchone()[0]
        runs = con.execute("SELECT step, status, run_id FROM runs ORDER BY started_at").fetchall()
    finally:
        con.close()
    truth = json.loads((project / "TRUTH.json").read_text())
    malformed = sum("requests" in m["file"] for m in truth["malformed_lines"])
    assert requests == sum(f["records"] for f in truth["files"] if "requests" in f["path"]) - malformed
    assert {(step, status) for step, status, _ in runs} >= {("nightly", "ok"), ("ingest", "ok"),
                                                           ("monitoring", "ok")}
    assert {r for _, _, r in runs} == {run_id}, "the runs table carries the Prefect flow run id"
    assert (project / "reports" / NIGHT / "index.html").is_file()  # the report step's index
