"""``flywheel eval gate`` and ``flywheel eval diff`` as a CI job runs them, against the demo
model over loopback HTTP: a planted regression fails the gate (exit 1, JUnit with exactly the
failing cases), an equal candidate passes it, a diff of two runs lists exactly the changed cases."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from flywheel.tasks.db import connect
from flywheel.tasks.demo_model import DemoModelServer
from flywheel.tasks.registry._store import register_version
from tests.support.eval_support import API_KEY, REPO, make_project, support_cases

pytestmark = pytest.mark.integration

# The support prompt with its Order line dropped for order ids ending in an even digit: the
# demo model then leaves out the order reference and `contains order_id` fails on those cases.
PLANTED = "{% if order_id is defined and order_id[-1] not in '02468' %}Order: {{ order_id }}\n"


def flywheel(*args: str, cwd: Path, base_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": API_KEY}
    return subprocess.run(["flywheel", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


def _register(db: Path, content: dict[str, Any]) -> str:
    with connect(db) as con:
        version, _ = register_version(con, content)
    return version.hash


def _variants(project: Path) -> tuple[str, str]:
    """A planted-regression candidate and an equal one (another hash, the same answers)."""
    v1 = yaml.safe_load((REPO / "prompts" / "support" / "v1.yaml").read_text())
    v1.pop("labels", None)
    planted = {**v1, "template": v1["template"].replace(
        "{% if order_id is defined %}Order: {{ order_id }}\n", PLANTED)}
    assert planted["template"] != v1["template"]
    equal = {**v1, "params": {**v1["params"], "max_tokens": 301}}
    db = project / "flywheel.duckdb"
    return _register(db, planted), _register(db, equal)


@pytest.fixture
def gate_project(tmp_path: Path) -> tuple[Path, Path, str, str, str]:
    cases = support_cases(16)
    for case in cases:  # the order reference only: the baseline passes every case
        case["assert"] = [a for a in case["assert"] if a["type"] == "contains"]
    project, evalset, h = make_project(tmp_path / "p", cases)
    planted, equal = _variants(project)
    return project, evalset, f"support:{h['support/v1'][:12]}", planted, equal


def test_gate_fails_a_planted_regression_and_passes_an_equal_candidate(
    tmp_path: Path, gate_project: tuple[Path, Path, str, str, str]
) -> None:
    project, evalset, baseline, planted, equal = gate_project
    base = ("--db", str(project / "flywheel.duckdb"), "--project-dir", str(project))
    junit, summary = tmp_path / "out" / "gate.xml", tmp_path / "out" / "gate.md"
    with DemoModelServer() as server:
        failed = flywheel(*base, "eval", "gate", "--evalset", str(evalset), "--baseline",
                          baseline, "--candidate", f"support:{planted[:12]}", "--junit",
                          str(junit), "--summary", str(summary), "--json", cwd=tmp_path,
                          base_url=server.base_url)
        passed = flywheel(*base, "eval", "gate", "--evalset", str(evalset), "--baseline",
                          baseline, "--candidate", f"support:{equal[:12]}", "--max-drop", "0",
                          "--junit", str(tmp_path / "equal.xml"), "--json", cwd=tmp_path,
                          base_url=server.base_url)
    assert failed.returncode == 1, failed.stderr
    result = json.loads(failed.stdout)
    assert result["verdict"] == "fail" and result["passed"] is False
    assert result["comparison"]["pass_share_diff"] == pytest.approx(-0.5)
    assert result["comparison"]["pass_share_diff_ci"][1] < 0
    even = sorted(f"case-{i:03d}" for i in range(16) if i % 2 == 0)
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == str(len(even) + 1)
    failing = sorted(tc.get("name") or "" for tc in suite.iter("testcase")
                     if tc.find("failure") is not None and tc.get("classname") != "flywheel.gate")
    assert failing == even
    gate_case = next(tc for tc in suite.iter("testcase") if tc.get("classname") == "flywheel.gate")
    assert gate_case.find("failure") is not None
    text = summary.read_text()
    assert "FAIL" in text and "significant regression" in text and "case-000" in text
    assert "Your order reference is Z-00000." in text  # the baseline's output, in a fence

    assert passed.returncode == 0, passed.stderr
    ok = json.loads(passed.stdout)
    assert ok["verdict"] == "pass" and ok["comparison"]["pass_share_diff"] == 0
    equal_suite = ET.parse(tmp_path / "equal.xml").getroot().find("testsuite")
    assert equal_suite is not None and equal_suite.get("failures") == "0"
    assert int(equal_suite.get("tests") or 0) == 17


def test_gate_bad_input_exits_2(tmp_path: Path, gate_project: tuple[Path, Path, str, str, str]
                                ) -> None:
    project, evalset, baseline, planted, _ = gate_project
    base = ("--db", str(project / "flywheel.duckdb"), "--project-dir", str(project))
    for extra in (["--alpha", "1.5"], ["--max-drop", "-1"]):
        bad = flywheel(*base, "eval", "gate", "--evalset", str(evalset), "--baseline", baseline,
                       "--candidate", f"support:{planted[:12]}", *extra, cwd=tmp_path,
                       base_url="http://127.0.0.1:9/v1")
        assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    unknown = flywheel(*base, "eval", "gate", "--evalset", str(evalset), "--baseline", baseline,
                       "--candidate", "support@nope", cwd=tmp_path,
                       base_url="http://127.0.0.1:9/v1")
    assert unknown.returncode == 2 and "support@nope" in unknown.stderr


def _run_ids(project: Path) -> list[str]:
    with connect(project / "flywheel.duckdb") as con:
        return [r[0] for r in con.execute(
            "SELECT run_id FROM eval_runs ORDER BY started_at").fetchall()]


def test_eval_diff_lists_exactly_the_changed_cases(tmp_path: Path) -> None:
    cases = support_cases(10)
    for case in cases:
        case["assert"] = [a for a in case["assert"] if a["type"] == "contains"]
    project, evalset, h = make_project(tmp_path / "p", cases)
    base = ("--db", str(project / "flywheel.duckdb"), "--project-dir", str(project))
    refs = ("--prompt", f"support:{h['support/v1'][:12]}",
            "--prompt", f"support:{h['support/v2-friendly'][:12]}")
    with DemoModelServer() as server:
        first = flywheel(*base, "eval", "run", "--evalset", str(evalset), *refs, "--json",
                         cwd=tmp_path, base_url=server.base_url)
        assert first.returncode == 0, first.stderr
        changed = [dict(c) for c in cases]
        changed[3] = {**cases[3], "assert": [{"type": "contains", "value": "no such text"}]}
        changed[5] = {**cases[5], "vars": {**cases[5]["vars"], "order_id": "Q-77777"},
                      "assert": [{"type": "contains", "value": "Q-77777"}]}
        del changed[7]
        changed.append({**cases[0], "id": "case-new"})
        evalset.write_text("".join(json.dumps(c) + "\n" for c in changed))
        second = flywheel(*base, "eval", "run", "--evalset", str(evalset), *refs, "--json",
                          cwd=tmp_path, base_url=server.base_url)
        assert second.returncode == 0, second.stderr
    run_a, run_b = _run_ids(project)
    diff = flywheel(*base, "eval", "diff", run_a, run_b, "--json", cwd=tmp_path,
                    base_url="http://127.0.0.1:9/v1")
    assert diff.returncode == 0, diff.stderr
    result = json.loads(diff.stdout)
    assert result["same_evalset"] is False and len(result["versions"]) == 2
    for version in result["versions"]:
        kinds = {c["case_id"]: c["change"] for c in version["changes"]}
        assert kinds == {"case-003": "regression", "case-005": "changed",
                         "case-007": "removed", "case-new": "added"}
        five = next(c for c in version["changes"] if c["case_id"] == "case-005")
        assert five["output_changed"] and "+" in five["output_diff"] and "Q-77777" in \
            five["output_diff"]
        assert {g["tag"]: g["cases"] for g in version["by_tag"]}["group-3"] == ["case-003",
                                                                                "case-007"]
    human = flywheel(*base, "eval", "diff", run_a, run_b, cwd=tmp_path,
                     base_url="http://127.0.0.1:9/v1")
    assert human.returncode == 0 and "case-003: regression" in human.stdout
    missing = flywheel(*base, "eval", "diff", run_a, "eval-nope", cwd=tmp_path,
                       base_url="http://127.0.0.1:9/v1")
    assert missing.returncode == 2 and "eval-nope" in missing.stderr


def test_the_actions_example_is_valid_yaml_calling_the_real_gate() -> None:
    import typer

    from flywheel.flows.cli import app

    workflow = yaml.safe_load((REPO / "examples" / "eval-gate.yml").read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    runs = "\n".join(s.get("run", "") for s in steps)
    line = next(ln for ln in runs.splitlines() if "flywheel" in ln and " eval gate" in ln)
    words = shlex.split(line.strip().rstrip("\\").replace("${", "{").replace("$", ""))
    args = words[words.index("flywheel") + 1:]
    args = args[:next((i for i, w in enumerate(args) if w in ("||", "&&", ";", "|")), None)]
    assert args[:2] == ["eval", "gate"], args
    group = typer.main.get_command(app)
    gate = group.commands["eval"].commands["gate"]  # type: ignore[attr-defined]
    params = gate.make_context("gate", args[2:]).params  # raises on an unknown option
    assert params["junit"] and params["summary_path"] and params["evalset"]
    help_text = subprocess.run(["flywheel", "eval", "gate", "--help"], capture_output=True,
                               text=True, timeout=60)
    assert help_text.returncode == 0
    for option in (w for w in args if w.startswith("--")):
        assert option in help_text.stdout or option in ("--db", "--project-dir"), option
