"""``flywheel ingest`` on trace exports, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import shared_data

pytestmark = pytest.mark.integration

LANGFUSE_EXPORT = "telemetry/langfuse_framework_traces/vertex-ai-2025-08-01.trace.json"


def flywheel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    return subprocess.run(["flywheel", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def test_ingest_a_langfuse_export_with_format_and_json(tmp_path: Path) -> None:
    export = shared_data(LANGFUSE_EXPORT)
    result = flywheel("--db", str(tmp_path / "x.duckdb"), "ingest", "--format", "langfuse", str(export),
                      "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["files_ingested"], summary["requests_inserted"], summary["feedback_inserted"]) == (1, 1, 2)
    assert summary["spans_skipped"] == 0 and summary["files"][0]["kind"] == "langfuse"
    human = flywheel("--db", str(tmp_path / "x.duckdb"), "ingest", str(export), cwd=tmp_path)
    assert human.returncode == 0 and "1 already ingested" in human.stdout


def test_a_file_that_is_no_log_and_no_trace_export_is_a_usage_error(tmp_path: Path) -> None:
    other = tmp_path / "notes.json"
    other.write_text('{"hello": "world"}')
    result = flywheel("--db", str(tmp_path / "x.duckdb"), "ingest", str(other), cwd=tmp_path)
    assert result.returncode == 2
    assert "notes.json: cannot tell what it holds" in result.stderr and "--format otel|langfuse" in result.stderr
    bad = flywheel("--db", str(tmp_path / "x.duckdb"), "ingest", "--format", "zipkin", str(other), cwd=tmp_path)
    assert bad.returncode == 2 and "unknown format 'zipkin'" in bad.stderr
    assert "Traceback" not in result.stderr + bad.stderr
