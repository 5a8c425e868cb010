"""``flywheel ab report`` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flywheel.tasks.config import load_settings
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.sample_data import SampleSpec, write_sample_data
from tests.integration.test_cli import flywheel

pytestmark = pytest.mark.integration


def test_ab_report_json_and_errors(tmp_path: Path) -> None:
    write_sample_data(tmp_path, SampleSpec(users=200, days=4))
    db = str(tmp_path / "f.duckdb")
    # ingested in-process: `flywheel ingest` starts a Prefect server, which is not under test
    ingest_paths(load_settings(db=db, project_dir=tmp_path), [tmp_path / "landing"])
    result = flywheel("--db", db, "ab", "report", "--json", "--date", "2026-11-04", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert [e["name"] for e in report["experiments"]] == ["summary-length", "tone-test"]
    human = flywheel("--db", db, "ab", "report", "--experiment", "tone-test", cwd=tmp_path)
    assert human.returncode == 0 and "tone-test:" in human.stdout
    unknown = flywheel("--db", db, "ab", "report", "--experiment", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown experiment 'nope'" in unknown.stderr
    bad_date = flywheel("--db", db, "ab", "report", "--date", "11/04/2026", cwd=tmp_path)
    assert bad_date.returncode == 2 and "--date" in bad_date.stderr
    (tmp_path / "experiments" / "tone-test.yaml").write_text("name: tone-test\nvariants: 3\n")
    broken = flywheel("--db", db, "ab", "report", cwd=tmp_path)
    assert broken.returncode == 2 and "tone-test.yaml:2: variants:" in broken.stderr
    assert "Traceback" not in broken.stderr
