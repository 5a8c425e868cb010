"""Without MLFLOW_TRACKING_URI the mirror is off and nothing imports mlflow (fresh processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flywheel.tasks.db import connect

pytestmark = pytest.mark.integration

PROBE = """
import json, sys
import flywheel.flows.nightly, flywheel.flows.cli
from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.mlflow_mirror import mirror_status, run_mirror

settings = load_settings(db=sys.argv[1], project_dir=sys.argv[2])
result = run_mirror(settings)
with connect(settings.db_path) as con:
    status = mirror_status(con, settings)
print(json.dumps({"loaded": sorted(m for m in sys.modules if m.split(".")[0] == "mlflow"),
                  "result": result, "status": status.to_dict()}))
"""


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    return {**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def test_importing_the_flows_and_the_cli_leaves_mlflow_unloaded_when_the_mirror_is_off(
    tmp_path: Path,
) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "f.duckdb"), str(tmp_path)],
                          capture_output=True, text=True, env=clean_env(), cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["loaded"] == []
    assert found["result"] == {"enabled": False, "status": "off", "note": found["result"]["note"]}
    assert "MLFLOW_TRACKING_URI" in found["result"]["note"]
    assert not found["status"]["enabled"] and not found["status"]["behind"]


def test_the_mlflow_commands_say_the_mirror_is_off(tmp_path: Path) -> None:
    db = str(tmp_path / "f.duckdb")
    sync = subprocess.run(["flywheel", "--db", db, "mlflow", "sync", "--json"],
                          capture_output=True, text=True, env=clean_env(), cwd=tmp_path, timeout=120)
    assert sync.returncode == 2  # --json: the error as the one JSON object on stdout
    assert json.loads(sync.stdout)["exit_code"] == 2 and "MLFLOW_TRACKING_URI" in sync.stdout
    assert "MLFLOW_TRACKING_URI" in sync.stderr
    with connect(db):  # an (empty) store to ask about
        pass
    status = subprocess.run(["flywheel", "--db", db, "mlflow", "status", "--json"],
                            capture_output=True, text=True, env=clean_env(), cwd=tmp_path,
                            timeout=120)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["enabled"] is False
