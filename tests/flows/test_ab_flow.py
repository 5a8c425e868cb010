"""The ab-analysis flow and its step in the nightly flow, under the session's Prefect harness."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
from prefect.client.orchestration import get_client

from flywheel.flows.ab_analysis import ab_analysis_flow
from flywheel.flows.nightly import nightly_flywheel
from flywheel.tasks.sample_data import SampleSpec, write_sample_data


def latest_artifact_keys() -> set[str]:
    async def read() -> list[object]:
        async with get_client() as client:
            return await client.read_latest_artifacts()

    return {a.key for a in asyncio.run(read())}


def test_nightly_runs_ab_analysis_after_ingest_and_stores_the_night(tmp_path: Path) -> None:
    write_sample_data(tmp_path, SampleSpec(users=300, days=4))
    kwargs = {"run_date": "2026-11-04", "db_path": str(tmp_path / "f.duckdb"),
              "project_dir": str(tmp_path)}
    summary = nightly_flywheel(**kwargs)
    steps = [s["step"] for s in summary["steps"]]
    assert steps.index("ab-analysis") > steps.index("ingest")
    assert all(s["status"] == "ok" for s in summary["steps"])
    assert {e["name"] for e in summary["ab"]} == {"tone-test", "summary-length"}
    report = ab_analysis_flow(**kwargs)  # again, directly: the night's rows are replaced
    assert report["stored"]["results"] == 27 and report["date"] == "2026-11-04"
    with duckdb.connect(str(tmp_path / "f.duckdb"), read_only=True) as con:
        per_night = con.execute(
            "SELECT run_date::VARCHAR, count(*) FROM ab_results GROUP BY 1").fetchall()
    assert per_night == [("2026-11-04", 27)]
    assert "ab-analysis" in latest_artifact_keys()
