"""A real ``prefect server start`` on a free loopback port, with its own PREFECT_HOME, for
integration tests; stopped (its whole process group) when the ``with`` ends, also on failure."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_group(proc: subprocess.Popen[bytes] | subprocess.Popen[str], grace_s: float = 10.0) -> None:
    """SIGTERM the process group a test started, then SIGKILL what is left of it."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # children that outlived the leader
        os.killpg(proc.pid, signal.SIGKILL)


def server_env(home: Path, port: int) -> dict[str, str]:
    """The environment of every process that talks to this server."""
    return {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # the test triggers its runs itself; the scheduler would add the 02:00 runs
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }


@contextmanager
def running_prefect_server(home: Path, log: Path, timeout_s: float = 120.0
                           ) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str]]]:
    """Start the server; yield its process and the environment for clients; stop it."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = server_env(home, port)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{env['PREFECT_API_URL']}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not start: {log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield proc, env
    finally:
        stop_group(proc)


@contextmanager
def prefect_server(home: Path, log: Path, timeout_s: float = 120.0) -> Iterator[dict[str, str]]:
    """Start the server; yield the environment for clients; stop it."""
    with running_prefect_server(home, log, timeout_s) as (_, env):
        yield env
