"""The export flow and the nightly export step under the session's Prefect harness."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect.client.orchestration import get_client

from flywheel.flows.export import export_flow
from flywheel.flows.nightly import nightly_flywheel
from flywheel.tasks.sample_data import SampleSpec, write_sample_data
from tests.support.export_support import manifest, read_jsonl, sample_project


def _artifact_rows(key: str) -> list[dict[str, object]]:
    async def read() -> list[dict[str, object]]:
        async with get_client() as client:
            artifacts = await client.read_latest_artifacts()
        import json

        [artifact] = [a for a in artifacts if a.key == key]
        data = artifact.data
        return json.loads(data) if isinstance(data, str) else data

    return asyncio.run(read())


def test_export_flow_writes_every_kind_and_publishes_counts_and_drop_reasons(
    tmp_path: Path,
) -> None:
    settings = sample_project(tmp_path / "proj", days=2, users=300)
    results = export_flow(out_dir=str(tmp_path / "out"), db_path=str(settings.db_path),
                          project_dir=str(settings.project_dir))
    assert set(results) == {"finetune", "preferences", "hard-examples"}
    assert read_jsonl(tmp_path / "out/finetune/train.jsonl")
    assert read_jsonl(tmp_path / "out/preferences/preferences.jsonl")
    assert read_jsonl(tmp_path / "out/hard-examples/hard_examples.jsonl")
    rows = _artifact_rows("export-summary")
    measures = {(r["export"], r["measure"]): r["value"] for r in rows}
    assert measures[("finetune", "examples written")] == results["finetune"]["examples"]
    assert measures[("finetune", "dropped: duplicate: exact")] == (
        results["finetune"]["dropped"]["duplicate"]["exact"])
    assert ("hard-examples", "dropped: over_cap_per_prompt") in measures


def test_nightly_writes_the_nights_exports_into_the_project(tmp_path: Path) -> None:
    write_sample_data(tmp_path, SampleSpec(days=2, users=200))
    summary = nightly_flywheel(run_date="2026-11-01", db_path=str(tmp_path / "f.duckdb"),
                               project_dir=str(tmp_path))
    statuses = {s["step"]: s["status"] for s in summary["steps"]}
    assert statuses["export"] == "ok" and set(statuses.values()) == {"ok"}
    night = tmp_path / "exports/2026-11-01"
    written = manifest(night / "finetune")
    assert written["filters"]["until"] == "2026-11-02T00:00:00+00:00"
    assert written["date_range"]["last"] is None or written["date_range"]["last"] < "2026-11-02"
    assert (night / "preferences/manifest.json").is_file()
    assert (night / "hard-examples/manifest.json").is_file()
    assert summary["export"]["finetune"]["candidates"] > 0
