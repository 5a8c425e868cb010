"""``flywheel report`` and ``flywheel reports open`` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.report_support import START, rollback_project

pytestmark = pytest.mark.integration

NIGHT = (START + timedelta(days=13)).date().isoformat()


def flywheel(*args: str, cwd: Path, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(["flywheel", *args], cwd=cwd, capture_output=True, text=True,
                          env={**base, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                               **(env or {})}, timeout=300)


def test_report_json_prints_one_object_and_writes_the_files(tmp_path: Path) -> None:
    settings, _, _ = rollback_project(tmp_path / "p", users=200, seed=12)
    result = flywheel("--db", str(settings.db_path), "--project-dir", str(settings.project_dir),
                      "report", "--date", NIGHT, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert report["run_date"] == NIGHT and Path(report["index"]).is_file()
    [support] = report["prompts"]
    assert support["decision"] == "ROLLBACK" and Path(support["html"]).is_file()
    assert Path(support["md"]).is_file() and support["command"].startswith("flywheel ")
    assert "Flow run" in result.stderr  # the work ran as the Prefect flow; logs on stderr


def test_report_refuses_a_bad_date(tmp_path: Path) -> None:
    bad = flywheel("--project-dir", str(tmp_path), "report", "--date", "10/14/2026",
                   cwd=tmp_path)
    assert bad.returncode == 2 and "--date: '10/14/2026' is not a date" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_reports_open_opens_the_newest_index_or_prints_where_it_is(tmp_path: Path) -> None:
    none = flywheel("--project-dir", str(tmp_path), "reports", "open", "--json", cwd=tmp_path)
    assert none.returncode == 0 and json.loads(none.stdout)["index"] is None
    text = flywheel("--project-dir", str(tmp_path), "reports", "open", cwd=tmp_path)
    assert f"no report yet under {tmp_path / 'reports'}" in text.stdout
    for night in ("2026-10-09", "2026-10-14", "2026-10-11"):
        (tmp_path / "reports" / night).mkdir(parents=True)
        (tmp_path / "reports" / night / "index.html").write_text("<!DOCTYPE html>")
    (tmp_path / "reports" / "2026-10-20").mkdir()  # a night folder without an index
    newest = tmp_path / "reports" / "2026-10-14" / "index.html"
    headless = flywheel("--project-dir", str(tmp_path), "reports", "open", cwd=tmp_path)
    assert headless.returncode == 0
    assert f"no browser to open it with; the latest report index is {newest}" in headless.stdout
    recorder = tmp_path / "browser.py"
    opened_file = tmp_path / "opened.txt"
    recorder.write_text("import sys, pathlib\n"
                        f"pathlib.Path({str(opened_file)!r}).write_text(sys.argv[1])\n")
    opened = flywheel("--project-dir", str(tmp_path), "reports", "open", "--json",
                      cwd=tmp_path, env={"BROWSER": f"{sys.executable} {recorder} %s"})
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout) == {"reports_dir": str(tmp_path / "reports"),
                                         "index": str(newest), "opened": True}
    assert opened_file.read_text() == newest.as_uri()
