"""Trace exports through the ingest and nightly flows (the Prefect harness of tests/flows)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb

from flywheel.flows.ingest import ingest_flow
from flywheel.flows.nightly import nightly_flywheel
from tests.conftest import request_record, shared_data
from tests.support.otlp import event, export_request, span, trace_id

LANGFUSE_EXPORT = "telemetry/langfuse_framework_traces/google-adk-2025-08-28.trace.json"


def landing_with_every_format(root: Path, write_jsonl: Callable[..., Path]) -> Path:
    """A landing folder as a team would have it: native logs, a collector's file, a Langfuse export."""
    landing = root / "landing"
    write_jsonl(landing / "app/requests-2026-11-02.jsonl", [request_record(1)])
    chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini", "user.id": "u1"}
    judged = event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "relevance",
                                                "gen_ai.evaluation.score.value": 1.0})
    collector = landing / "otel/traces.jsonl"
    collector.parent.mkdir(parents=True)
    collector.write_text(json.dumps(export_request([
        span(trace_id("flow"), 1, "chat gpt-4o-mini", chat, events=[judged]),
        span(trace_id("flow"), 2, "GET /health", {"http.request.method": "GET"}),
    ])) + "\n")
    (landing / "langfuse").mkdir()
    shutil.copy(shared_data(LANGFUSE_EXPORT), landing / "langfuse/export.json")
    return landing


def test_ingest_flow_reads_native_otel_and_langfuse_files_together(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    landing = landing_with_every_format(tmp_path, write_jsonl)
    summary = ingest_flow(paths=[str(landing)], db_path=str(tmp_path / "f.duckdb"), project_dir=str(tmp_path))
    assert summary["files_ingested"] == 3
    assert (summary["requests_inserted"], summary["feedback_inserted"]) == (1 + 1 + 2, 1 + 2)
    assert summary["spans_skipped"] == 1 + 3
    kinds = {f["kind"] for f in summary["files"]}
    assert kinds == {"requests", "otel", "langfuse"}
    only_native = ingest_flow(paths=[str(landing)], db_path=str(tmp_path / "g.duckdb"),
                              project_dir=str(tmp_path), format="native")
    assert only_native["files_seen"] == 1


def test_nightly_flow_ingests_trace_exports_from_the_landing_folder(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    landing_with_every_format(tmp_path, write_jsonl)
    kwargs = {"run_date": "2026-11-02", "db_path": str(tmp_path / "f.duckdb"), "project_dir": str(tmp_path)}
    first = nightly_flywheel(**kwargs)
    assert first["ingest"]["files_ingested"] == 3
    second = nightly_flywheel(**kwargs)
    assert (second["ingest"]["files_skipped"], second["ingest"]["requests_inserted"]) == (3, 0)
    con = duckdb.connect(str(tmp_path / "f.duckdb"))
    try:
        assert con.execute("SELECT kind, count(*) FROM ingest_ledger GROUP BY ALL ORDER BY 1").fetchall() == [
            ("langfuse", 1), ("otel", 1), ("requests", 1)]
    finally:
        con.close()
