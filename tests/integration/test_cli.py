"""The installed ``flywheel`` command, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import request_record

pytestmark = pytest.mark.integration


def flywheel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    return subprocess.run(["flywheel", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


def test_ingest_json_prints_exactly_one_object_with_the_contract_keys(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    write_jsonl(tmp_path / "landing/requests-1.jsonl", [request_record(1), "oops"])
    other = tmp_path / "elsewhere"
    other.mkdir()
    result = flywheel("--db", str(tmp_path / "x.duckdb"), "ingest", str(tmp_path / "landing"), "--json", cwd=other)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    for key in ("files_seen", "files_ingested", "files_skipped", "requests_inserted",
                "requests_duplicate", "feedback_inserted", "feedback_duplicate", "rejected"):
        assert isinstance(summary[key], int), key
    assert (summary["requests_inserted"], summary["rejected"]) == (1, 1)


def test_bad_usage_exits_2_with_a_message_naming_the_path(tmp_path: Path) -> None:
    result = flywheel("--db", str(tmp_path / "x.duckdb"), "ingest", str(tmp_path / "nope"), cwd=tmp_path)
    assert result.returncode == 2
    assert "nope: no such file or folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_sample_data_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    for out in ("a", "b"):
        result = flywheel("sample-data", "--out", out, "--days", "2", "--users", "50", "--seed", "3",
                          "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a/landing").rglob("*.jsonl"))
    assert files_a
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
