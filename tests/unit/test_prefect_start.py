"""Prefect's start-up as a command meets it: the first-run notice, the start-up timeout, and
Prefect's start-up failures as one line (flows/cli/prefect_start.py)."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flywheel.flows.cli import prefect_start
from flywheel.flows.cli.prefect_start import (
    FIRST_RUN_NOTICE,
    STARTUP_TIMEOUT_S,
    TIMEOUT_SETTING,
    PrefectStartError,
    database_file,
    prefect_start_errors,
    prepare_prefect_start,
    start_error,
)
from flywheel.tasks.errors import FlywheelError

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _restore_log_record_factory() -> Iterator[None]:
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)


def log(message: str, logger: str = "prefect") -> None:
    """Make the log record Prefect's logger makes for ``message`` (whatever the levels and
    handlers earlier tests left on the logger)."""
    logging.getLogger(logger).makeRecord(logger, logging.INFO, __file__, 1, message, (), None)


def announce_server() -> None:
    """What Prefect logs when it starts its temporary server."""
    log("Starting temporary server on http://127.0.0.1:8123\nSee ...")


def write_profile(home: Path, **settings: str) -> None:
    lines = ['active = "local"', "", "[profiles.local]"] + [f'{k} = "{v}"' for k, v in settings.items()]
    home.mkdir(parents=True, exist_ok=True)
    (home / "profiles.toml").write_text("\n".join(lines) + "\n", "utf-8")


# --- where Prefect keeps its database -------------------------------------------------------

def test_the_database_is_prefect_db_under_prefect_home(tmp_path: Path) -> None:
    assert database_file({"PREFECT_HOME": str(tmp_path)}) == tmp_path / "prefect.db"


def test_without_prefect_home_it_is_under_the_home_folder(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert database_file({}) == tmp_path / ".prefect" / "prefect.db"


@pytest.mark.parametrize("name", ["PREFECT_SERVER_DATABASE_CONNECTION_URL",
                                  "PREFECT_API_DATABASE_CONNECTION_URL"])
def test_a_connection_url_names_the_file(tmp_path: Path, name: str) -> None:
    env = {"PREFECT_HOME": str(tmp_path / "home"), name: f"sqlite+aiosqlite:///{tmp_path}/other.db"}
    assert database_file(env) == tmp_path / "other.db"


def test_a_database_name_names_the_file(tmp_path: Path) -> None:
    env = {"PREFECT_HOME": str(tmp_path), "PREFECT_SERVER_DATABASE_NAME": str(tmp_path / "named.db")}
    assert database_file(env) == tmp_path / "named.db"


def test_the_active_profile_can_name_the_database(tmp_path: Path) -> None:
    write_profile(tmp_path, PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{tmp_path}/p.db")
    assert database_file({"PREFECT_HOME": str(tmp_path)}) == tmp_path / "p.db"


@pytest.mark.parametrize("url", ["sqlite+aiosqlite:///:memory:",
                                 "postgresql+asyncpg://user:pw@db.example:5432/prefect"])
def test_in_memory_and_postgres_databases_have_no_file(tmp_path: Path, url: str) -> None:
    assert database_file({"PREFECT_HOME": str(tmp_path), "PREFECT_SERVER_DATABASE_CONNECTION_URL": url}) is None


# --- the start-up timeout -------------------------------------------------------------------

def test_the_timeout_is_raised_when_the_user_set_none(tmp_path: Path) -> None:
    env = {"PREFECT_HOME": str(tmp_path)}
    prepare_prefect_start(env, io.StringIO())
    assert env[TIMEOUT_SETTING] == str(STARTUP_TIMEOUT_S)
    assert STARTUP_TIMEOUT_S >= 60  # well over Prefect's 20 s, which a busy 2-core machine exceeds


def test_the_users_timeout_is_kept(tmp_path: Path) -> None:
    env = {"PREFECT_HOME": str(tmp_path), TIMEOUT_SETTING: "7"}
    prepare_prefect_start(env, io.StringIO())
    assert env[TIMEOUT_SETTING] == "7"


def test_a_timeout_in_the_active_profile_is_kept(tmp_path: Path) -> None:
    write_profile(tmp_path, **{TIMEOUT_SETTING: "9"})
    env = {"PREFECT_HOME": str(tmp_path)}
    prepare_prefect_start(env, io.StringIO())
    assert TIMEOUT_SETTING not in env


def test_with_a_prefect_server_configured_nothing_changes(tmp_path: Path) -> None:
    env = {"PREFECT_HOME": str(tmp_path), "PREFECT_API_URL": "http://127.0.0.1:4200/api"}
    out = io.StringIO()
    prepare_prefect_start(env, out)
    announce_server()
    assert env == {"PREFECT_HOME": str(tmp_path), "PREFECT_API_URL": "http://127.0.0.1:4200/api"}
    assert out.getvalue() == ""


def test_it_works_on_the_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv(TIMEOUT_SETTING, raising=False)
    prepare_prefect_start(stderr=io.StringIO())
    assert os.environ[TIMEOUT_SETTING] == str(STARTUP_TIMEOUT_S)


# --- the first-run notice -------------------------------------------------------------------

def test_the_first_run_is_announced_once_when_the_server_starts(tmp_path: Path) -> None:
    out = io.StringIO()
    prepare_prefect_start({"PREFECT_HOME": str(tmp_path)}, out)
    assert out.getvalue() == ""  # not before Prefect starts its server: --help says nothing
    log("Beginning flow run 'x'")
    assert out.getvalue() == ""
    announce_server()
    announce_server()
    assert out.getvalue() == FIRST_RUN_NOTICE + "\n"
    assert "first run" in FIRST_RUN_NOTICE


def test_no_notice_when_the_database_exists(tmp_path: Path) -> None:
    (tmp_path / "prefect.db").write_bytes(b"")
    out = io.StringIO()
    prepare_prefect_start({"PREFECT_HOME": str(tmp_path)}, out)
    announce_server()
    assert out.getvalue() == ""


def test_the_notice_keeps_the_log_record_factory_before_it(tmp_path: Path) -> None:
    seen: list[str] = []
    make_record = logging.getLogRecordFactory()

    def earlier(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        seen.append(record.getMessage())
        return record

    logging.setLogRecordFactory(earlier)
    prepare_prefect_start({"PREFECT_HOME": str(tmp_path)}, io.StringIO())
    log("still seen")
    assert "still seen" in seen


# --- start-up failures as one line ----------------------------------------------------------

EPHEMERAL_TIMEOUT = RuntimeError(
    "Timed out while attempting to connect to ephemeral Prefect API server. stdout: ... stderr: ..."
)


def test_the_temporary_servers_timeout_says_what_to_set() -> None:
    error = start_error(EPHEMERAL_TIMEOUT, {TIMEOUT_SETTING: "70"})
    assert isinstance(error, PrefectStartError) and isinstance(error, FlywheelError)
    assert error.exit_code == 1
    message = str(error)
    assert TIMEOUT_SETTING in message and "70 s" in message and "PREFECT_API_URL" in message
    assert "\n" not in message


def test_an_unreachable_configured_server_says_what_to_set() -> None:
    env = {"PREFECT_API_URL": "http://127.0.0.1:9/api"}
    error = start_error(RuntimeError("Failed to reach API at http://127.0.0.1:9/api/"), env)
    assert error is not None
    message = str(error)
    assert "http://127.0.0.1:9/api" in message and "unset PREFECT_API_URL" in message
    assert "prefect server start" in message


def test_a_server_from_the_profile_says_how_to_unset_it(tmp_path: Path) -> None:
    write_profile(tmp_path, PREFECT_API_URL="http://127.0.0.1:9/api")
    error = start_error(RuntimeError("Failed to reach API at http://127.0.0.1:9/api/"),
                        {"PREFECT_HOME": str(tmp_path)})
    assert error is not None and "prefect config unset PREFECT_API_URL" in str(error)


def test_a_connect_error_to_the_configured_server_is_one_line() -> None:
    env = {"PREFECT_API_URL": "http://127.0.0.1:9/api"}
    request = httpx.Request("POST", "http://127.0.0.1:9/api/flow_runs/")
    try:
        try:
            raise httpx.ConnectError("All connection attempts failed", request=request)
        except httpx.ConnectError as inner:
            raise ValueError("wrapped") from inner
    except ValueError as exc:
        error = start_error(exc, env)
    assert error is not None and "cannot reach the Prefect server" in str(error)


def test_a_connect_error_to_another_host_is_not_prefects() -> None:
    env = {"PREFECT_API_URL": "http://127.0.0.1:9/api"}
    request = httpx.Request("POST", "http://127.0.0.1:8000/v1/chat/completions")
    assert start_error(httpx.ConnectError("refused", request=request), env) is None


def test_other_errors_are_not_start_errors() -> None:
    assert start_error(RuntimeError("Failed to reach API at http://x/api/"), {}) is None
    assert start_error(RuntimeError("something else"), {"PREFECT_API_URL": "http://x/api"}) is None
    assert start_error(KeyError("k"), {}) is None


def test_the_context_manager_raises_the_one_line_without_its_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIMEOUT_SETTING, "70")
    with pytest.raises(PrefectStartError) as caught, prefect_start_errors():
        raise EPHEMERAL_TIMEOUT
    assert caught.value.__suppress_context__ and caught.value.__cause__ is None
    with pytest.raises(KeyError), prefect_start_errors():
        raise KeyError("passes unchanged")


def test_importing_it_imports_no_prefect() -> None:
    code = ("import sys, flywheel.flows.cli.prefect_start\n"
            "assert not [m for m in sys.modules if m == 'prefect' or m.startswith('prefect.')]\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_main_turns_a_start_failure_into_one_error_line(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path) -> None:
    import flywheel.flows.cli as cli

    def app() -> None:
        raise EPHEMERAL_TIMEOUT

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv(TIMEOUT_SETTING, raising=False)
    monkeypatch.setattr(cli, "app", app)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Prefect's temporary server did not start") and err.count("\n") == 1
    assert TIMEOUT_SETTING in err and "Traceback" not in err
    assert int(os.environ[TIMEOUT_SETTING]) == prefect_start.STARTUP_TIMEOUT_S
