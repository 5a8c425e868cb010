"""Prefect's start-up as a user on a fresh machine meets it (flows/cli/prefect_start.py): the
first flow run builds Prefect's database within the raised start-up timeout and says so once;
a configured Prefect server that is not there is one error line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flywheel.flows.cli.prefect_start import FIRST_RUN_NOTICE
from tests.support.prefect_server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def fresh_machine(root: Path, **extra: str) -> dict[str, str]:
    """This environment without any Prefect setting (the tier's session server included), with
    an empty HOME and PREFECT_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(HOME=str(root / "home"), PREFECT_HOME=str(root / "prefect-home"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    (root / "home").mkdir()
    return env


def flywheel(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flywheel", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_the_first_demo_on_a_fresh_machine_builds_prefects_database(tmp_path: Path) -> None:
    env = fresh_machine(tmp_path)
    work = tmp_path / "demo"
    result = flywheel("demo", "--days", "1", "--users", "50", "--workdir", str(work), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count(FIRST_RUN_NOTICE) == 1
    assert (tmp_path / "prefect-home" / "prefect.db").is_file()
    assert list((work / "reports").glob("*/index.html"))
    assert "Traceback" not in result.stderr


def test_an_unreachable_prefect_server_is_one_error_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    env = fresh_machine(tmp_path, PREFECT_API_URL=url)
    (tmp_path / "landing").mkdir()
    result = flywheel("--db", str(tmp_path / "x.duckdb"), "ingest", str(tmp_path / "landing"),
                      cwd=tmp_path, env=env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and url in errors[0] and "PREFECT_API_URL" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert FIRST_RUN_NOTICE not in result.stderr


def test_a_server_that_cannot_start_is_one_error_line(tmp_path: Path) -> None:
    """flywheel demo starts Prefect's server itself, before it imports Prefect (LocalServer):
    a server that exits at start-up (here: its database cannot be created) is one line."""
    env = fresh_machine(tmp_path, PREFECT_SERVER_DATABASE_CONNECTION_URL=(
        f"sqlite+aiosqlite:///{tmp_path}/no-such-folder/deeper/prefect.db"))
    result = flywheel("demo", "--days", "1", "--users", "50", "--workdir", str(tmp_path / "demo"),
                      cwd=tmp_path, env=env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Prefect's server exited at start-up" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
