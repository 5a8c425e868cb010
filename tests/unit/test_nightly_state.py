"""The state the nightly keeps so a night reads only that night (issue 22): re-running any night
(the last one, or one in the middle after later nights) changes none of it, and the steps'
results equal what they were."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from flywheel.tasks.ab import run_nightly_analysis
from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect
from flywheel.tasks.export import EXPORTERS, Window
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.monitor import run_monitoring
from tests.support.export_support import sample_project

pytestmark = pytest.mark.unit

START = date(2026, 11, 1)  # the sample data's first day
STATE = ("export_keys", "export_runs", "ingest_files_seen", "ingest_orphans", "ingest_ledger",
         "monitor_metrics", "monitor_token_counts", "monitor_alerts", "ab_state", "ab_user_nights",
         "requests", "feedback")


def _night(settings: Settings, night: date) -> dict[str, Any]:
    """The steps that keep state, as the nightly runs them for ``night``."""
    ingest_paths(settings, [settings.project_dir / "landing"])
    monitored = run_monitoring(settings, night).summary()
    analysed = {k: v for k, v in run_nightly_analysis(settings, night).items() if k != "timings"}
    day = night.isoformat()
    exported = {kind: export(settings, settings.project_dir / "exports" / day / kind,
                             Window.parse(day, day), night=night)
                for kind, export in EXPORTERS.items()}
    return {"monitoring": monitored, "ab": analysed,
            "export": {k: (v["examples"], v["dropped"], v["files"]) for k, v in exported.items()}}


def _snapshot(settings: Settings) -> dict[str, Any]:
    with connect(settings.db_path) as con:
        tables = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in STATE}
    files = {str(p.relative_to(settings.project_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted((settings.project_dir / "exports").rglob("*")) if p.is_file()}
    return {"tables": tables, "files": files}


def test_rerunning_a_night_changes_no_state_table_and_no_export_file(tmp_path: Path) -> None:
    settings = sample_project(tmp_path / "proj", days=4, users=300, keep_evalsets=True)
    nights = [START + timedelta(days=d) for d in range(4)]
    results = {night: _night(settings, night) for night in nights}
    before = _snapshot(settings)
    assert before["tables"]["export_keys"] and before["tables"]["monitor_token_counts"]
    assert before["tables"]["ingest_files_seen"] and before["tables"]["ab_user_nights"]
    for night in (nights[-1], nights[1]):  # the last night, and one after later nights ran
        assert _night(settings, night) == results[night]
        assert _snapshot(settings) == before
