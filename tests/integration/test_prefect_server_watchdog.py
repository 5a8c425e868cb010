"""Issue 23, item 7: a command killed with SIGKILL (no atexit handler runs) does not leave the
Prefect server it started running: the server watches its parent and stops itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
COMMAND = """
import os, sys, time
from flywheel.flows.cli.prefect_start import LocalServer
server = LocalServer(os.environ)
server.wait()
print(server.process.pid, server.api_url, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text(
    ).split(")")[-1].split()[0]


def test_a_killed_command_takes_its_prefect_server_down(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.setdefault("PREFECT_HOME", str(tmp_path / "prefect-home"))
    command = subprocess.Popen([sys.executable, "-c", COMMAND], stdout=subprocess.PIPE,
                               text=True, env={**env, "PYTHONPATH": str(REPO)},
                               start_new_session=True)
    assert command.stdout is not None
    line = command.stdout.readline()  # the server answered its health check
    pid_text, api_url = line.split()
    pid = int(pid_text)
    with urllib.request.urlopen(f"{api_url}/health", timeout=10) as response:
        assert response.status == 200
    command.send_signal(signal.SIGKILL)
    command.wait()
    deadline = time.monotonic() + 120  # a bound for a hang, not a timing assertion
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pid), "the server outlived the command that started it"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{api_url}/health", timeout=5)
