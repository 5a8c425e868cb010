"""The report of a night whose offline eval rests on an llm-rubric judge that people disagree
with: the candidate is held ("judge not calibrated"), the agreement table is in the eval section
with the `flywheel eval diff` command against the eval set's previous run."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from flywheel.tasks.db import connect
from flywheel.tasks.demo_model import DemoModelServer
from flywheel.tasks.evals import PythonChecks, calibrate
from tests.support.report_support import (
    START,
    copy_evalset,
    eval_on_demo_model,
    place_label,
    project,
    register,
    repo_prompt,
)

pytestmark = pytest.mark.unit
RUBRIC = "Warns that 'disk' upgrades need a 'reboot'"


def test_a_judge_people_disagree_with_holds_the_candidate_and_the_report_shows_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flywheel.tasks.reports import build_night

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-0123456789")
    with DemoModelServer() as demo:
        settings = project(tmp_path, openai_base_url=demo.base_url)
        production = repo_prompt("support/v1.yaml")
        worse = {**production, "description": "a terse rewrite",
                 "template": "Reply to: {{ question }}{% if order_id is defined %} "
                             "(order {{ order_id }}){% endif %}"}
        v1, bad = register(settings, [production, worse])
        place_label(settings, "support", "production", v1, START)
        place_label(settings, "support", "candidate", bad, START)
        evalset = copy_evalset(tmp_path)
        earlier = eval_on_demo_model(settings, evalset, ["support@production"])
        summary = eval_on_demo_model(settings, evalset, ["support@production",
                                                         "support@candidate"])
    assert summary["comparisons"][0]["pass_rate_diff"] < -0.2  # would be REJECT
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({"case_id": f"c{i}", "output": "", "rubric": RUBRIC,
                                          "human": i % 2 == 0, "judge": i % 3 != 0}) + "\n"
                              for i in range(30)))
    with connect(settings.db_path) as con:
        cal = calibrate(con, labels, judge_model=settings.eval_judge_model,
                        min_kappa=settings.judge_min_kappa,
                        checks=PythonChecks(settings.project_dir))
    (row,) = cal["rubrics"]
    assert row["calibrated"] is False and row["kappa"] < 0.6

    result = build_night(settings, date(2026, 11, 10))
    [report] = result["prompts"]
    assert (report["decision"], report["rule"]) == ("HOLD", "hold.judge_not_calibrated")
    assert "judge not calibrated" in report["summary"]
    html = Path(report["html"]).read_text()
    assert 'data-judge-agreement="true"' in html and "no: judge not calibrated" in html
    assert f"flywheel eval diff {earlier['run_id']} {summary['run_id']}" in html
    markdown = Path(report["md"]).read_text()
    assert "| judge rubric | Cohen's kappa |" in markdown
    assert f"{row['kappa']:.3f}"[:4] in markdown
