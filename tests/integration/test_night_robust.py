"""Nothing breaks the night (issue 23), in a small demo project run as a user runs it: an
experiment with no traffic yet, a malformed file and a file with a duplicate key beside good
ones each cost their own experiment, never the night's reports; a night run twice leaves every
table but the run log, and the reports/ and exports/ trees, as they were."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from flywheel.tasks.demo_model import DemoModelServer
from tests.support.eval_support import API_KEY
from tests.support.store_compare import table_digests, tree_digests

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "issue23"
NIGHT = "2026-11-03"


@pytest.fixture(scope="module")
def env(prefect_api: dict[str, str]) -> Iterator[dict[str, str]]:
    """The session's Prefect server and a model endpoint (the demo model) for every command."""
    with DemoModelServer() as server:
        yield {**os.environ, "PYTHONPATH": str(REPO), "OPENAI_BASE_URL": server.base_url,
               "OPENAI_API_KEY": API_KEY}


def flywheel(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["flywheel", "--db", str(project / "flywheel.duckdb"), "--project-dir",
                           str(project), *args], capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Path:
    """``flywheel demo --days 3 --users 300``: a small project with three nights run."""
    root = tmp_path_factory.mktemp("night-robust") / "demo"
    result = subprocess.run(["flywheel", "demo", "--workdir", str(root), "--days", "3",
                             "--users", "300", "--json"], capture_output=True, text=True,
                            env=env, timeout=600, cwd=root.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def copy_of(demo: Path, name: str) -> Path:
    target = demo.parent / name
    shutil.copytree(demo, target, symlinks=True)
    return target


def test_bad_and_quiet_experiments_cost_only_themselves(demo: Path, env: dict[str, str]) -> None:
    project = copy_of(demo, "hostile")
    for name in ("quiet.yaml", "twice.yaml", "broken.yaml"):
        shutil.copy(FIXTURES / name, project / "experiments" / name)
    result = flywheel(project, env, "nightly", "--date", NIGHT, "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    (night,) = json.loads(result.stdout)["nights"]
    ab = {e["name"]: e for e in night["summary"]["ab"]}
    assert ab["quiet"]["status"] != "file error"  # analysed, with no traffic
    assert {n for n, e in ab.items() if e["status"] == "file error"} == {"twice", "broken"}
    assert "twice.yaml:7: variants.control: duplicate key (first given on line 5)" in \
        ab["twice"]["error"]
    assert "broken.yaml:9: not valid YAML" in ab["broken"]["error"]
    folder = project / "reports" / NIGHT
    index = (folder / "index.html").read_text(encoding="utf-8")
    prompts = sorted(p.stem for p in (project / "prompts").iterdir() if p.is_dir())
    for prompt in prompts:  # a report for every prompt, each listed in the index
        html = (folder / f"{prompt}.html").read_text(encoding="utf-8")
        assert f'href="{prompt}.html"' in index
        assert 'data-problem="experiment-file-errors"' in html and "twice.yaml" in html
        assert (folder / f"{prompt}.md").is_file()
    support = (folder / "support.html").read_text(encoding="utf-8")
    assert "Experiment <code>quiet</code>" in support and 'data-problem="no-traffic"' in support
    assert 'data-problem="experiment-file-errors"' in index and "broken.yaml" in index
    human = flywheel(project, env, "nightly", "--date", NIGHT)
    assert human.returncode == 0 and "experiment twice not analysed" in human.stdout
    strict = flywheel(project, env, "ab", "report", "--date", NIGHT)
    assert strict.returncode == 2 and "Traceback" not in strict.stderr
    assert ".yaml:" in strict.stderr  # the first bad file, with its line
    as_json = flywheel(project, env, "ab", "report", "--date", NIGHT, "--json")
    assert as_json.returncode == 2  # --json: one JSON object on stdout, the error in it
    assert json.loads(as_json.stdout) == {"error": as_json.stderr.removeprefix("error: ").strip(),
                                          "exit_code": 2}


def test_a_night_run_twice_leaves_every_table_and_file_as_it_was(
        demo: Path, env: dict[str, str]) -> None:
    project = copy_of(demo, "rerun")
    first = flywheel(project, env, "nightly", "--date", NIGHT)
    assert first.returncode == 0, first.stderr[-3000:]
    tables = table_digests(project / "flywheel.duckdb")
    trees = {name: tree_digests(project / name) for name in ("reports", "exports")}
    assert tables["eval_runs"][0] > 0 and tables["ab_results"][0] > 0  # the night did work
    second = flywheel(project, env, "nightly", "--date", NIGHT)
    assert second.returncode == 0, second.stderr[-3000:]
    again = table_digests(project / "flywheel.duckdb")
    assert set(again) == set(tables)
    differ = {t: (tables[t], again[t]) for t in tables if tables[t] != again[t]}
    assert not differ, differ
    assert {name: tree_digests(project / name) for name in ("reports", "exports")} == trees
