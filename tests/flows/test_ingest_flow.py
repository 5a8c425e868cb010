"""The ingest and nightly flows under the session's Prefect harness."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prefect.client.orchestration import get_client

from flywheel.flows.ingest import ingest_flow
from flywheel.flows.nightly import nightly_flywheel
from tests.conftest import request_record


def test_ingest_flow_returns_the_summary_and_publishes_a_table_artifact(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    write_jsonl(tmp_path / "landing/requests-1.jsonl", [request_record(1), "bad"])
    summary = ingest_flow(paths=[str(tmp_path / "landing")], db_path=str(tmp_path / "f.duckdb"),
                          project_dir=str(tmp_path))
    assert summary["requests_inserted"] == 1 and summary["rejected"] == 1

    async def latest_artifact() -> object:
        async with get_client() as client:
            return await client.read_latest_artifacts()

    import asyncio

    artifacts = asyncio.run(latest_artifact())
    keys = {a.key for a in artifacts}
    assert "ingest-summary" in keys


def test_nightly_flow_ingests_the_landing_folder_and_is_idempotent(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    write_jsonl(tmp_path / "landing/2026-11-02/requests-2026-11-02.jsonl",
                [request_record(i) for i in range(3)])
    kwargs = {"run_date": "2026-11-02", "db_path": str(tmp_path / "f.duckdb"), "project_dir": str(tmp_path)}
    first = nightly_flywheel(**kwargs)
    second = nightly_flywheel(**kwargs)
    assert first["ingest"]["requests_inserted"] == 3
    assert second["ingest"]["requests_inserted"] == 0 and second["ingest"]["files_skipped"] == 1
    assert [s["status"] for s in first["steps"]] == ["ok"] * len(first["steps"])
