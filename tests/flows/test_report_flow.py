"""The report flow (artifacts), the command a report prepares carried out and undone through
the CLI, and the nightly flow's report step."""

from __future__ import annotations

import asyncio
import shlex
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client

from flywheel.flows.cli import main
from flywheel.flows.nightly import nightly_flywheel
from flywheel.flows.report import report_flow
from flywheel.tasks.db import connect
from flywheel.tasks.registry._labels import current_label
from tests.support.report_support import START, rollback_project

NIGHT = (START + timedelta(days=13)).date().isoformat()


def latest_artifacts() -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        async with get_client() as client:
            return {a.key: a for a in await client.read_latest_artifacts()}

    return asyncio.run(read())


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["flywheel", *args])
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0


def test_the_flow_publishes_the_decision_and_a_link_per_prompt(tmp_path: Path) -> None:
    settings, _, _ = rollback_project(tmp_path, users=400, seed=8)
    result = report_flow(run_date=NIGHT, db_path=str(settings.db_path),
                         project_dir=str(settings.project_dir))
    [report] = result["prompts"]
    assert report["decision"] == "ROLLBACK"
    artifacts = latest_artifacts()
    markdown = str(artifacts["report-support"].data)
    assert markdown.startswith("# support: ROLLBACK (") and "prompts rollback support" in markdown
    assert "thumbs\\_up\\_rate after vs before the promotion" in markdown
    link = str(artifacts["report-html-support"].data)  # Prefect keeps links as Markdown
    assert f"]({Path(report['html']).as_uri()})" in link and "support: ROLLBACK" in link
    assert Path(result["index"]).as_uri() in str(artifacts["report-index"].data)


def test_the_prepared_command_carries_the_decision_out_and_the_undo_reverts_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, v1, v2 = rollback_project(tmp_path, users=400, seed=9)
    [report] = report_flow(run_date=NIGHT, db_path=str(settings.db_path),
                           project_dir=str(settings.project_dir))["prompts"]
    monkeypatch.chdir(settings.project_dir)  # the commands run from the project folder
    monkeypatch.delenv("FLYWHEEL_DB", raising=False)
    monkeypatch.delenv("FLYWHEEL_PROJECT_DIR", raising=False)
    assert run_cli(shlex.split(report["command"])[1:], monkeypatch) == 0
    with connect(settings.db_path) as con:
        assert current_label(con, "support", "production") == v1.hash
    assert run_cli(shlex.split(report["undo"])[1:], monkeypatch) == 0
    with connect(settings.db_path) as con:
        assert current_label(con, "support", "production") == v2.hash


def test_the_nightly_flow_ends_with_the_report_step(tmp_path: Path) -> None:
    settings, _, _ = rollback_project(tmp_path, users=300, seed=10)
    summary = nightly_flywheel(run_date=NIGHT, db_path=str(settings.db_path),
                               project_dir=str(settings.project_dir))
    steps = [s["step"] for s in summary["steps"]]
    assert steps[-1] == "report" and summary["steps"][-1]["status"] == "ok"
    assert summary["report"]["prompts"][0]["prompt"] == "support"
    assert Path(summary["report"]["index"]).is_file()
