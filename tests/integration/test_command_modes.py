"""One-off commands as a user runs them with no Prefect server configured: the work happens in
the command's own process (no temporary Prefect server, no Prefect database built), with the
same results as the flow runs they make when a server is configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

_READ_ONLY = (["--help"], ["--version"], ["prompts", "list"], ["prompts", "show", "support@production"],
              ["prompts", "history", "support"], ["reports", "open", "--json"])
_PROBE = """
import json, sys
sys.argv = ["flywheel", *json.loads(sys.argv[1])]
from flywheel.flows.cli import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("\\nIMPORTED " + json.dumps(
    [m for m in ("prefect", "scipy", "matplotlib") if m in sys.modules]) + "\\n")
"""


def _env(home: Path, with_server: bool) -> dict[str, str]:
    env = {**os.environ, "HOME": str(home), "PREFECT_HOME": str(home / ".prefect"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "BROWSER": "true"}
    if not with_server:
        env.pop("PREFECT_API_URL", None)  # the integration tier's session server
    return env


def _flywheel(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["flywheel", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


def _json(result: subprocess.CompletedProcess[str], project: Path) -> dict[str, Any]:
    """The command's JSON result with the project folder's path written as ``PROJECT``."""
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.replace(str(project), "PROJECT"))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    result = subprocess.run(["flywheel", "sample-data", "--out", str(root), "--days", "3",
                             "--users", "200"], capture_output=True, text=True, timeout=300,
                            env=_env(root, with_server=False))
    assert result.returncode == 0, result.stderr
    return root


def _night(project: Path, env: dict[str, str]) -> dict[str, Any]:
    """The one-off commands of a small night, each a whole process; their JSON results."""
    db = ["--db", str(project / "store.duckdb"), "--project-dir", str(project)]
    out: dict[str, Any] = {}
    out["sync"] = _json(_flywheel(*db, "prompts", "sync", "--json", cwd=project, env=env), project)
    out["ingest"] = _json(_flywheel(*db, "ingest", str(project / "landing"), "--json",
                                    cwd=project, env=env), project)
    out["export"] = _json(_flywheel(*db, "export", "finetune", "--out", str(project / "ft"),
                                    "--json", cwd=project, env=env), project)
    out["snapshot"] = _json(_flywheel(*db, "serving", "snapshot", "--json", cwd=project, env=env), project)
    return out


def _copy(sample: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(sample, target, ignore=shutil.ignore_patterns("*.duckdb*"))
    return target


def test_commands_without_a_server_start_no_prefect_and_match_the_flow_runs(
    sample: Path, tmp_path: Path
) -> None:
    alone = _copy(sample, tmp_path / "alone")
    served = _copy(sample, tmp_path / "served")
    quiet_home = tmp_path / "home-alone"
    quiet_home.mkdir()
    in_process = _night(alone, _env(quiet_home, with_server=False))
    as_flows = _night(served, _env(tmp_path, with_server=True))

    # no temporary server was started: Prefect never built its database in the fresh home
    assert not (quiet_home / ".prefect" / "prefect.db").exists()
    assert in_process["ingest"] == as_flows["ingest"]
    assert in_process["sync"]["registered"] == as_flows["sync"]["registered"]
    assert in_process["export"]["files"] == as_flows["export"]["files"]  # byte-identical files
    assert in_process["snapshot"]["prompts"] == as_flows["snapshot"]["prompts"]


def test_json_output_and_a_pipe_get_no_progress_bar(sample: Path, tmp_path: Path) -> None:
    project = _copy(sample, tmp_path / "p")
    result = _flywheel("--db", str(project / "s.duckdb"), "ingest", str(project / "landing"),
                       cwd=project, env=_env(tmp_path, with_server=False))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # stderr is not a terminal: silent
    assert result.stdout.startswith("files: ")


@pytest.mark.parametrize("args", _READ_ONLY, ids=" ".join)
def test_read_only_commands_import_neither_prefect_scipy_nor_matplotlib(
    args: list[str], tmp_path: Path
) -> None:
    result = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(args)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120,
                            env=_env(tmp_path, with_server=False))
    imported = json.loads(result.stderr.rsplit("IMPORTED ", 1)[1])
    assert imported == [], (args, result.stderr)
