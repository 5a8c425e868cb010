"""Prefect's start-up, as a ``flywheel`` command meets it: the first run on a fresh machine, and
a Prefect server that cannot be reached.

With no Prefect server configured (``PREFECT_API_URL``), a command that runs a flow starts
Prefect's temporary ("ephemeral") server, which waits ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``
(Prefect's default: 20 s) for itself to answer. The first time on a machine it must first build
its SQLite database, which takes longer than that on a busy small machine. :func:`prepare_prefect_start`
raises the timeout (unless the user set one) and says, once, that the first run is slow;
:func:`prefect_start_errors` turns Prefect's start-up failures into one line saying what to set.

``flywheel nightly`` and ``flywheel demo`` start that server themselves, before they import
Prefect (:func:`start_server_early`). Nothing here imports Prefect: ``flywheel --help`` and
``--version`` stay fast.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from flywheel.tasks.errors import FlywheelError

TIMEOUT_SETTING = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"

# Seconds Prefect 3.9's temporary server took to answer its health check on its first run (fresh
# HOME and PREFECT_HOME, so it builds its SQLite database first), measured on the 2-core
# development machine by timing SubprocessASGIServer.start around one trivial flow run:
#   idle:                       8.4, 8.0, 8.4 s    (second run, database present: 3.6-4.1 s)
#   2 CPU-burning processes:   15.3, 15.2, 15.3 s  (second run: 5.0-5.4 s)
#   4 CPU-burning processes:   30.1, 25.5, 39.6 s  (second run: 10.2-14.4 s; the last first run
#                                                   also beside a pytest run, load average 6)
# Prefect's 20 s is exceeded as soon as the machine is busy. About 3x the worst (39.6 s); only a
# server that never starts waits this long to be reported.
STARTUP_TIMEOUT_S = 120

FIRST_RUN_NOTICE = "preparing Prefect's local database (first run only, up to a minute)…"

# what Prefect logs when it starts its temporary server (prefect.server.api.server)
_SERVER_START_MESSAGE = "Starting temporary server on"
_EPHEMERAL_TIMEOUT_MESSAGE = "Timed out while attempting to connect to ephemeral Prefect API server"
_UNREACHABLE_MESSAGE = "Failed to reach API at"

_DATABASE_URL_SETTINGS = ("PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_API_DATABASE_CONNECTION_URL")
_DATABASE_NAME_SETTINGS = ("PREFECT_SERVER_DATABASE_NAME", "PREFECT_API_DATABASE_NAME")
_DATABASE_DRIVER_SETTINGS = ("PREFECT_SERVER_DATABASE_DRIVER", "PREFECT_API_DATABASE_DRIVER")


class PrefectStartError(FlywheelError):
    """Prefect's API could not be reached, so no flow could run (exit status 1)."""


def prefect_home(env: Mapping[str, str] | None = None) -> Path:
    """Prefect's home folder: ``PREFECT_HOME``, else ``~/.prefect``."""
    env = os.environ if env is None else env
    return Path(env.get("PREFECT_HOME") or "~/.prefect").expanduser()


def active_profile(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings of Prefect's active profile (``profiles.toml`` under Prefect's home, read
    without importing Prefect); empty when there is none."""
    env = os.environ if env is None else env
    path = Path(env.get("PREFECT_PROFILES_PATH") or prefect_home(env) / "profiles.toml").expanduser()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    name = env.get("PREFECT_PROFILE") or document.get("active") or "ephemeral"
    profile = (document.get("profiles") or {}).get(name)
    return profile if isinstance(profile, dict) else {}


def _setting(env: Mapping[str, str], profile: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    """A Prefect setting as Prefect resolves it here: the environment first, then the profile."""
    for source in (env, profile):
        for name in names:
            if source.get(name):
                return str(source[name])
    return None


def configured_api_url(env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """``(url, where it is set)`` of the Prefect server this machine is configured for, or None
    when flows run against Prefect's temporary server."""
    env = os.environ if env is None else env
    if env.get("PREFECT_API_URL"):
        return env["PREFECT_API_URL"], "the environment"
    url = active_profile(env).get("PREFECT_API_URL")
    return (str(url), "Prefect's active profile") if url else None


def database_file(env: Mapping[str, str] | None = None) -> Path | None:
    """The SQLite file Prefect's own server keeps its state in, as Prefect 3 chooses it
    (prefect/settings/models/_defaults.py): ``PREFECT_SERVER_DATABASE_CONNECTION_URL`` (alias
    ``PREFECT_API_DATABASE_CONNECTION_URL``) when set, else ``PREFECT_SERVER_DATABASE_NAME`` with
    the SQLite driver, else ``$PREFECT_HOME/prefect.db``. None for an in-memory or a PostgreSQL
    database (no file to build)."""
    env = os.environ if env is None else env
    profile = active_profile(env)
    url = _setting(env, profile, _DATABASE_URL_SETTINGS)
    if url is None:
        driver = _setting(env, profile, _DATABASE_DRIVER_SETTINGS) or "sqlite+aiosqlite"
        if not driver.startswith("sqlite"):
            return None
        name = _setting(env, profile, _DATABASE_NAME_SETTINGS)
        url = f"sqlite+aiosqlite:///{name}" if name else f"sqlite+aiosqlite:///{prefect_home(env)}/prefect.db"
    scheme, sep, rest = url.partition(":///")
    if not scheme.startswith("sqlite") or not sep:
        return None
    path = rest.split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return None
    return Path(path).expanduser()


def startup_timeout_is_set(env: Mapping[str, str] | None = None) -> bool:
    """Whether the user chose the temporary server's start-up timeout (environment or profile)."""
    env = os.environ if env is None else env
    return bool(env.get(TIMEOUT_SETTING) or active_profile(env).get(TIMEOUT_SETTING))


def prepare_prefect_start(env: MutableMapping[str, str] | None = None, stderr: TextIO | None = None) -> None:
    """Call before any flow runs. With no ``PREFECT_API_URL``: give Prefect's temporary server
    :data:`STARTUP_TIMEOUT_S` to start (unless the user chose a timeout), and when it starts
    without its database file, say on stderr (once) that this first run takes a while.

    The notice waits for Prefect to announce its temporary server, so commands that run no flow
    (``--help``, read-only commands, one-off commands in-process) print nothing.
    """
    env = os.environ if env is None else env
    if env.get("PREFECT_API_URL"):
        return
    if not startup_timeout_is_set(env):
        env[TIMEOUT_SETTING] = str(STARTUP_TIMEOUT_S)
    _notice_first_run_when_server_starts(env, stderr)


# The server's process: uvicorn, and a thread that stops it (SIGTERM to itself: uvicorn's own
# graceful shutdown, then exit) once the command that started it is gone - killed with SIGKILL,
# the command runs no atexit handler, and the server would otherwise keep listening, reparented.
_WATCHED_UVICORN = """
import os, runpy, signal, sys, threading, time
parent = int(sys.argv[1])
def watch():
    while os.getppid() == parent:
        time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    os._exit(1)
threading.Thread(target=watch, daemon=True).start()
sys.argv = ["uvicorn", *sys.argv[2:]]
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""


class LocalServer:
    """Prefect's server for one command, in a subprocess started before Prefect is imported.

    What Prefect's temporary server is (the same ``uvicorn`` command and environment as
    ``prefect.server.api.server.SubprocessASGIServer``), started sooner: the server builds its
    database and starts while the command imports its flows and does its own work (the demo
    writes its sample data), and this process never imports Prefect's server code (about 2 s).
    The command's Prefect client reaches it through ``PREFECT_API_URL``, set in this process's
    environment before Prefect is imported; the server stops when the process exits, after
    Prefect's log and event workers have drained (both ``atexit``, this one registered first),
    and on its own when the process dies without exiting (SIGKILL): it watches its parent.
    """

    def __init__(self, env: MutableMapping[str, str], stderr: TextIO | None = None) -> None:
        self.env = env
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        database = database_file(env)
        if database is not None and not database.exists():
            out = stderr or sys.stderr
            out.write(FIRST_RUN_NOTICE + "\n")
            out.flush()
        spec = importlib.util.find_spec("prefect")
        assert spec is not None and spec.origin is not None, "Prefect is not installed"
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  (lives as long as the server)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WATCHED_UVICORN, str(os.getpid()),
             "--app-dir", str(Path(spec.origin).parent.parent),
             "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
            env={**env, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                 "PREFECT__SERVER_FINAL": "1"},
            stdout=subprocess.DEVNULL, stderr=self._log)
        atexit.register(self.stop)
        env["PREFECT_API_URL"] = self.api_url

    def wait(self) -> None:
        """Block until the server answers its health check; raise :class:`PrefectStartError`
        when it exits or does not answer within the start-up timeout."""
        timeout = float(self.env.get(TIMEOUT_SETTING) or STARTUP_TIMEOUT_S)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrefectStartError(f"Prefect's server exited at start-up (code "
                                        f"{self.process.returncode}): {self._tail()}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise PrefectStartError(
            f"Prefect's temporary server did not start within {timeout:g} s. Set "
            f"{TIMEOUT_SETTING} higher, or set PREFECT_API_URL to a running Prefect server "
            "(`prefect server start`)")

    def _tail(self) -> str:
        if self._log.closed:
            return "no output"
        self._log.seek(0)
        lines = [line for line in self._log.read().splitlines() if line.strip()]
        return lines[-1][:300] if lines else "no output"

    def stop(self) -> None:
        """Stop the server (also at exit); idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        if self.env.get("PREFECT_API_URL") == self.api_url:
            del self.env["PREFECT_API_URL"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server_early(env: MutableMapping[str, str] | None = None,
                       stderr: TextIO | None = None) -> LocalServer | None:
    """Start Prefect's server for this command now, in a subprocess (:class:`LocalServer`);
    None when there is nothing to start: a Prefect server is configured, or Prefect is already
    imported in this process (its settings are read; it starts its own temporary server)."""
    env = os.environ if env is None else env
    if configured_api_url(env) or "prefect" in sys.modules:
        return None
    return LocalServer(env, stderr)


@dataclass
class _NoticeTarget:
    """What the installed log-record hook reports to: the latest call's environment and stream."""

    env: Mapping[str, str]
    stderr: TextIO | None
    said: bool = False


_notice: _NoticeTarget | None = None


def _notice_first_run_when_server_starts(env: Mapping[str, str], stderr: TextIO | None) -> None:
    """Print :data:`FIRST_RUN_NOTICE` when Prefect logs that it starts its temporary server and
    the database file does not exist yet. Hooked into log record creation, which Prefect's
    logging configuration (applied when Prefect is imported) leaves alone. Each call points the
    hook at its own environment and stream and re-arms it; the hook is installed again only when
    the current factory is not already it."""
    global _notice
    _notice = _NoticeTarget(env, stderr)
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "_flywheel_first_run_notice", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        target = _notice
        if target is not None and not target.said and record.name.startswith("prefect") \
                and isinstance(record.msg, str) and record.msg.startswith(_SERVER_START_MESSAGE):
            target.said = True
            database = database_file(target.env)
            if database is not None and not database.exists():
                out = target.stderr or sys.stderr
                out.write(FIRST_RUN_NOTICE + "\n")
                out.flush()
        return record

    factory._flywheel_first_run_notice = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then its causes and contexts."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _same_server(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.hostname, x.port or x.scheme) == (y.hostname, y.port or y.scheme)


def start_error(exc: BaseException, env: Mapping[str, str] | None = None) -> PrefectStartError | None:
    """The one-line error for a Prefect start-up failure, or None when ``exc`` is not one."""
    env = os.environ if env is None else env
    configured = configured_api_url(env)
    httpx = sys.modules.get("httpx")  # only when Prefect (which uses it) was imported
    connect_errors = (httpx.ConnectError, httpx.ConnectTimeout) if httpx is not None else ()
    for error in _chain(exc):
        text = str(error)
        if isinstance(error, RuntimeError) and text.startswith(_EPHEMERAL_TIMEOUT_MESSAGE):
            timeout = env.get(TIMEOUT_SETTING) or "20"
            return PrefectStartError(
                f"Prefect's temporary server did not start within {timeout} s. Set "
                f"{TIMEOUT_SETTING} higher (e.g. {max(STARTUP_TIMEOUT_S, int(float(timeout))) * 2}), "
                "or set PREFECT_API_URL to a running Prefect server (`prefect server start`)"
            )
        if configured is None:
            continue
        url, where = configured
        unset = ("unset PREFECT_API_URL" if where == "the environment"
                 else "run `prefect config unset PREFECT_API_URL`")
        reached_for = None
        if isinstance(error, RuntimeError) and text.startswith(_UNREACHABLE_MESSAGE):
            reached_for = text[len(_UNREACHABLE_MESSAGE):].strip()
        elif connect_errors and isinstance(error, connect_errors):
            try:
                reached_for = str(error.request.url)  # type: ignore[attr-defined]
            except RuntimeError:  # httpx raises when the error carries no request
                reached_for = url
        if reached_for is not None and _same_server(reached_for, url):
            return PrefectStartError(
                f"cannot reach the Prefect server at {url} (PREFECT_API_URL, from {where}): "
                f"start it (`prefect server start`), set PREFECT_API_URL to one that runs, or {unset} "
                "to run flows on a temporary local server"
            )
    return None


@contextmanager
def prefect_start_errors(env: Mapping[str, str] | None = None) -> Iterator[None]:
    """Raise :class:`PrefectStartError` (from None: no traceback) for Prefect's start-up
    failures inside the ``with``; every other exception passes unchanged."""
    try:
        yield
    except Exception as exc:
        error = start_error(exc, env)
        if error is None:
            raise
        raise error from None
