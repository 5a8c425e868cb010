"""``flywheel export …`` run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import shared_data
from tests.support.export_support import sample_project

pytestmark = pytest.mark.integration

TOY = "finetune/openai_cookbook_toy_chat_fine_tuning.jsonl"


def flywheel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    return subprocess.run(["flywheel", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


def test_validate_flags_the_cookbook_toy_file(tmp_path: Path) -> None:
    toy = str(shared_data(TOY))
    result = flywheel("export", "validate", toy, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # only warnings at gpt-4o-mini's 65,536 tokens
    report = json.loads(result.stdout)
    assert {e["line"]: e["warnings"] for e in report["lines"]} == {
        3: ["missing_system_message"], 4: ["missing_user_message"], 5: ["repetitive_content"]}
    strict = flywheel("export", "validate", toy, "--max-tokens", "4096", cwd=tmp_path)
    assert strict.returncode == 1
    assert "line 5: too_long, warning repetitive_content (8031 tokens)" in strict.stdout
    assert "line 4: warning missing_user_message" in strict.stdout


def test_export_finetune_then_validate_the_files_it_wrote(tmp_path: Path) -> None:
    settings = sample_project(tmp_path / "proj", days=2, users=300)
    base = ["--db", str(settings.db_path), "--project-dir", str(settings.project_dir)]
    result = flywheel(*base, "export", "finetune", "--out", "ft", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["examples"] > 0 and summary["files"]["train.jsonl"]["lines"] > 0
    for name in ("train.jsonl", "validation.jsonl"):
        check = flywheel(*base, "export", "validate", str(tmp_path / "ft" / name), "--json",
                         cwd=tmp_path)
        assert check.returncode == 0 and json.loads(check.stdout)["errors"] == {}


def test_a_bad_date_is_a_usage_error(tmp_path: Path) -> None:
    result = flywheel("--db", str(tmp_path / "x.duckdb"), "export", "finetune", "--out", "o",
                      "--since", "last tuesday", cwd=tmp_path)
    assert result.returncode == 2
    assert "--since 'last tuesday'" in result.stderr and "Traceback" not in result.stderr
