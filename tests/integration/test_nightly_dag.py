"""The night as Prefect records it: after ``flywheel demo --days 3`` (run as a user runs it, against
the session's Prefect server), Prefect's own database holds the latest ``nightly-flywheel`` run's
steps as task runs with their upstream dependencies, and independent steps that ran at once."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import FlowRunSort
from prefect.settings import PREFECT_API_URL, temporary_settings

from flywheel.flows.steps import STEPS

pytestmark = pytest.mark.integration


def test_the_demo_night_is_a_dag_in_prefects_database(tmp_path: Path) -> None:
    secret = "T000/B000/webhook-token-never-stored"  # settings may hold secrets: Prefect keeps none
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "FLYWHEEL_ALERT_WEBHOOK_URL": f"http://127.0.0.1:9/{secret}"}
    result = subprocess.run(
        ["flywheel", "demo", "--days", "3", "--users", "300", "--json", "--workdir", str(tmp_path / "demo")],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(n["ok"] for n in json.loads(result.stdout)["nights"])

    # this process's Prefect settings were read before the session's server was started
    with temporary_settings({PREFECT_API_URL: os.environ["PREFECT_API_URL"]}), \
            get_client(sync_client=True) as client:
        latest = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["nightly-flywheel"])),
                                       sort=FlowRunSort.START_TIME_DESC, limit=1)[0]
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[latest.id])))
        parent = client.read_flow_run(latest.parent_task_run_id and client.read_task_run(
            latest.parent_task_run_id).flow_run_id)
    assert parent.name and parent.flow_id != latest.flow_id, "the night is a subflow of the range"
    for run in (latest, parent):
        assert secret not in json.dumps(run.parameters, default=str), run.parameters
    by_name = {t.name: t for t in task_runs}
    assert set(by_name) == {s.name for s in STEPS} and len(by_name) >= 8
    with_upstream = [t for t in task_runs if t.task_inputs.get("wait_for")]
    assert len(with_upstream) >= 6
    for step in STEPS:  # Prefect holds exactly the declared upstream steps of each step
        upstream = {i.id for i in by_name[step.name].task_inputs.get("wait_for", [])}
        assert upstream == {by_name[name].id for name in step.upstream}, step.name
        assert by_name[step.name].state.is_completed(), step.name
    spans = sorted((t.start_time, t.end_time, t.name) for t in task_runs)
    overlapping = [(a[2], b[2]) for i, a in enumerate(spans) for b in spans[i + 1:] if b[0] < a[1]]
    assert len(overlapping) >= 1, "no two steps ran at the same time"
