"""``flywheel eval calibrate``: the agreement table from real human annotations (Tulu: two
people on the same completions) written as a Markdown report, and a judge whose verdicts in the
eval results disagree with people holding the gate ("judge not calibrated")."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from flywheel.tasks.db import connect
from flywheel.tasks.demo_model import DemoModelServer
from tests.support.eval_support import API_KEY, make_project, support_cases
from tests.unit.test_eval_calibration import TULU, tulu_rater_pairs

pytestmark = pytest.mark.integration


def flywheel(*args: str, cwd: Path, base_url: str = "http://127.0.0.1:9/v1"
             ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": API_KEY}
    return subprocess.run(["flywheel", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.mark.skipif(not TULU.is_file(), reason=f"shared data not found: {TULU}")
def test_calibrate_writes_the_agreement_table_of_the_tulu_annotations(tmp_path: Path) -> None:
    project, _, _ = make_project(tmp_path / "p", support_cases(1))
    labels = tmp_path / "tulu-labels.jsonl"
    pairs = tulu_rater_pairs()
    labels.write_text("".join(json.dumps({"case_id": cid, "output": "", "rubric": "acceptable",
                                          "human": "yes" if h else "no",
                                          "judge": "yes" if j else "no"}) + "\n"
                              for cid, h, j in pairs))
    db = ("--db", str(project / "flywheel.duckdb"))
    out = tmp_path / "reports" / "judge-calibration.md"
    result = flywheel(*db, "eval", "calibrate", "--labels", str(labels), "--judge-model",
                      "second-tulu-rater", "--out", str(out), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    (row,) = summary["rubrics"]
    agree = sum(h == j for _, h, j in pairs)
    assert row["n"] == len(pairs) == 124 and row["confusion"]["both_pass"] + row[
        "confusion"]["both_fail"] == agree
    assert row["calibrated"] is (row["kappa"] >= 0.6)
    table = out.read_text()
    assert "| acceptable | 124 |" in table and f"{row['kappa']:.3f}" in table
    with connect(project / "flywheel.duckdb") as con:
        stored = con.execute("SELECT judge_model, rubric, n, kappa FROM judge_calibrations"
                             ).fetchall()
    assert stored == [("second-tulu-rater", "acceptable", 124, pytest.approx(row["kappa"]))]


def test_a_judge_that_disagrees_with_people_holds_the_gate(tmp_path: Path) -> None:
    cases = support_cases(12)
    rubric = "Mentions 'order reference'"
    for case in cases:
        case["assert"] = [{"type": "llm-rubric", "value": rubric, "threshold": 0.5}]
    project, evalset, h = make_project(tmp_path / "p", cases)
    base = ("--db", str(project / "flywheel.duckdb"), "--project-dir", str(project))
    v1, v2 = f"support:{h['support/v1'][:12]}", f"support:{h['support/v2-friendly'][:12]}"
    with DemoModelServer() as server:
        before = flywheel(*base, "eval", "gate", "--evalset", str(evalset), "--baseline", v1,
                          "--candidate", v2, "--json", cwd=tmp_path, base_url=server.base_url)
        assert before.returncode == 0, before.stderr  # no calibration yet: nothing held
        with connect(project / "flywheel.duckdb") as con:
            outputs = con.execute("SELECT DISTINCT case_id, output FROM eval_results ORDER BY 1, 2"
                                  ).fetchall()
        # People reject half the answers the (term-matching) judge passes: kappa 0.
        labels = tmp_path / "labels.jsonl"
        labels.write_text("".join(json.dumps({"case_id": c, "output": o, "human": i % 2 == 0})
                                  + "\n" for i, (c, o) in enumerate(outputs)))
        cal = flywheel(*base, "eval", "calibrate", "--labels", str(labels), "--json",
                       cwd=tmp_path)
        assert cal.returncode == 0, cal.stderr
        (row,) = json.loads(cal.stdout)["rubrics"]
        assert row["rubric"] == rubric and row["n"] == len(outputs)
        assert row["calibrated"] is False and row["confusion"]["both_fail"] == 0
        held = flywheel(*base, "eval", "gate", "--evalset", str(evalset), "--baseline", v1,
                        "--candidate", v2, "--json", cwd=tmp_path, base_url=server.base_url)
    assert held.returncode == 1, held.stderr
    result = json.loads(held.stdout)
    assert result["verdict"] == "held"
    assert any("judge not calibrated" in r for r in result["reasons"])
