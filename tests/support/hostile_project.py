"""A project whose every user-sourced field holds hostile text (tests/unit/test_report_safety.py
audits its reports; tests/integration/test_report_browser.py loads them in Chromium)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from flywheel.tasks.ab import run_nightly_analysis
from flywheel.tasks.db import connect
from flywheel.tasks.demo_model import DemoModelServer
from flywheel.tasks.reports import build_night
from tests.support.report_support import (
    START,
    Period,
    eval_on_demo_model,
    ingest,
    place_label,
    project,
    promote_at,
    register,
    repo_prompt,
    write_logs,
)

SECRET = "sk-proj-Zq8Xw3Lk9Rt5Yp2Nv7Bm4Hc6Jd1Fg0SaQe"
FIELDS = ("prompt_system", "prompt_template", "prompt_few_shot", "prompt_description",
          "prompt_name", "experiment_description", "variant", "request_input",
          "request_output", "correction", "comment", "eval_case_id", "eval_tag",
          "eval_output", "label_reason", "label_by", "alert_message")
PROMOTED = START + timedelta(days=2)
NIGHT = (START + timedelta(days=6)).date()


def payload(field: str) -> str:
    """A hostile string carrying the field's marker."""
    return (f"XSS-{field} <script>alert('{field}')</script><img src=x onerror=alert(1)>"
            f"<a href=\"javascript:alert(1)\">j</a>\"' onmouseover=\"alert(1)\" x='"
            f"</textarea></title></style><svg onload=alert(1)><iframe src=//evil.example>"
            f" | [md](javascript:alert(1)) `tick` **b** $x$")


def _decorate(record: dict[str, Any], feedback: list[dict[str, Any]],
              rng: np.random.Generator) -> None:
    if rng.uniform() < 0.05:
        record["input"] = {"question": payload("request_input") + " " + SECRET}
        if record.get("output"):
            record["output"] = payload("request_output") + f" the key is {SECRET}"
        stamp = (datetime.fromisoformat(record["timestamp"]) + timedelta(minutes=9)).isoformat()
        feedback += [
            {"feedback_id": f"c-{record['request_id']}", "request_id": record["request_id"],
             "timestamp": stamp, "kind": "correction",
             "corrected_output": payload("correction") + " " + SECRET},
            {"feedback_id": f"m-{record['request_id']}", "request_id": record["request_id"],
             "timestamp": stamp, "kind": "comment", "comment": payload("comment") + " " + SECRET}]


def build_hostile_project(root: Path) -> dict[str, Any]:
    """A project where every user-sourced field a report shows holds a hostile payload (and
    most hold the planted secret), its night analysed, evaluated on the demo model, reported.
    Returns the settings, the ``build_night`` result and the night's folder."""
    with DemoModelServer() as demo:
        mp = pytest.MonkeyPatch()
        mp.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-0123456789")
        settings = project(root, openai_base_url=demo.base_url)
        base = repo_prompt("support/v1.yaml")
        v0 = {**base, "template": "Q {{ question }}"}
        v1 = {**v0, "system": payload("prompt_system") + f" use the key {SECRET}"}
        v2 = {**v1, "template": "{{ question }} " + payload("prompt_template"),
              "few_shot": [{"role": "user", "content": payload("prompt_few_shot")},
                           {"role": "assistant", "content": "ok"}],
              "description": payload("prompt_description")}
        named = {**base, "name": "x\"><svg onload=alert(1)>" + payload("prompt_name")}
        other = {**named, "template": base["template"] + " Be brief."}
        p0, p1, p2, n1, n2 = register(settings, [v0, v1, v2, named, other])
        place_label(settings, "support", "production", p0, START - timedelta(days=1))
        promote_at(settings, "support", p1, PROMOTED, reason=payload("label_reason") + SECRET,
                   by=payload("label_by"))
        place_label(settings, "support", "candidate", p2, PROMOTED)
        place_label(settings, named["name"], "production", n1, START)
        place_label(settings, named["name"], "candidate", n2, START)
        end = START + timedelta(days=7)
        write_logs(settings.landing, [
            Period(p0, START, PROMOTED),
            Period(p1, PROMOTED, end, experiment="xss-test", variant="control"),
            Period(p2, PROMOTED, end, experiment="xss-test", variant="treat"),
            Period(p2, PROMOTED, end, experiment="xss-test", variant=payload("variant")),
        ], users=300, seed=11, decorate=_decorate)
        ingest(settings)
        (root / "experiments").mkdir()
        (root / "experiments" / "xss-test.yaml").write_text(yaml.safe_dump({
            "name": "xss-test", "description": payload("experiment_description"),
            "variants": {"control": "support@production", "treat": f"support:{p2.short}"},
            "start": PROMOTED.isoformat(), "primary_metric": "thumbs_up_rate"}))
        run_nightly_analysis(settings, NIGHT)
        question = payload("eval_output") + f" {SECRET} more"
        cases = [{"id": payload("eval_case_id") + f" {i}",
                  "vars": {"question": f"{question} {i}"}, "tags": [payload("eval_tag")],
                  "assert": [{"type": "icontains", "value": "Q XSS-eval_output"}]}
                 for i in range(3)]
        evalset = root / "evalsets" / "support.jsonl"
        evalset.parent.mkdir()
        evalset.write_text("".join(json.dumps(c) + "\n" for c in cases))
        eval_on_demo_model(settings, evalset, ["support@production", "support@candidate"])
        with connect(settings.db_path) as con:  # the monitoring step's table (migration 008)
            con.execute("""CREATE TABLE IF NOT EXISTS monitor_alerts (
                run_date DATE NOT NULL, prompt_name VARCHAR, prompt_hash VARCHAR,
                model VARCHAR, kind VARCHAR NOT NULL, severity VARCHAR NOT NULL,
                metric VARCHAR NOT NULL, value DOUBLE, baseline DOUBLE, limit_low DOUBLE,
                limit_high DOUBLE, message VARCHAR NOT NULL)""")
            con.execute("INSERT INTO monitor_alerts VALUES ($d, 'support', $h, 'gpt-4o-mini', "
                        "'drift', 'critical', 'latency_p95_ms', 2100, 1500, 1000, 1900, $m)",
                        {"d": NIGHT, "h": p1.hash, "m": payload("alert_message") + SECRET})
        result = build_night(settings, NIGHT)
        mp.undo()
    return {"settings": settings, "result": result,
            "folder": settings.dir("reports") / NIGHT.isoformat()}
