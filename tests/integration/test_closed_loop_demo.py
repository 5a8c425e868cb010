"""``flywheel demo`` closes the loop (issue 18): on a few days, run as a user runs it, the
support prompt gets a candidate built from its own feedback, evaluated offline, ramped and
promoted by the automation, every move in the label history; rerunning a night proposes
nothing new. The 14-day figures (thumbs-up trend, two-proportion test, wall time) are measured
by ``bench/closed_loop.py``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from flywheel.tasks.demo_model import DemoModelServer

pytestmark = pytest.mark.integration


def flywheel(*args: str, cwd: Path, env: dict[str, str] | None = None) -> dict:
    result = subprocess.run(["flywheel", *args, "--json"], cwd=cwd, capture_output=True,
                            text=True, timeout=900, env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_the_demo_proposes_evaluates_ramps_and_promotes_from_its_own_feedback(tmp_path: Path) -> None:
    work = tmp_path / "demo"
    demo = flywheel("demo", "--days", "5", "--users", "1500", "--workdir", str(work), cwd=tmp_path)
    assert all(n["ok"] for n in demo["nights"])
    db = ["--db", demo["db"], "--project-dir", demo["workdir"]]
    moves = flywheel(*db, "prompts", "history", "support", cwd=tmp_path)["moves"]
    [ramped] = [m for m in moves if m["moved_by"] == "flywheel-auto:offline-win"]
    # several nights may propose a candidate; the one the automation ramped is one of them
    [proposed] = [m for m in moves if m["moved_by"] == "flywheel-optimize:all"
                  and m["to_hash"] == ramped["to_hash"]]
    assert proposed["label"] == "candidate" and "correction(s) of 2026-11-01" in proposed["reason"]
    assert ramped["label"] == "production"
    assert "McNemar p = " in ramped["reason"] and "no tag regressed" in ramped["reason"]
    events = demo["quality_trend"]["ramp_events"]
    assert [e["action"] for e in events if e["to_hash"] == ramped["to_hash"]] == ["start", "complete"]
    shown = flywheel(*db, "prompts", "show", f"support:{ramped['to_hash'][:12]}", cwd=tmp_path)
    provenance = shown["provenance"]
    assert provenance["method"] == "all" and provenance["feedback_ids"]
    assert provenance["excluded_eval_cases"]  # the eval-set questions were asked by users too
    assert (work / provenance["source_file"]).is_file()
    page = (work / "reports" / "quality-trend.html").read_text()
    assert "data-demo-model" in page and "<svg" in page
    index = (work / "reports" / "index.html").read_text()  # the demo's index page: the trend
    assert "<svg" in index and "data-demo-model" in index
    for night in demo["nights"]:
        assert f'href="{night["run_date"]}/index.html"' in index
        assert (work / "reports" / night["run_date"] / "index.html").is_file()
    reports = [p.read_text() for p in sorted((work / "reports").glob("*/support.md"))]
    assert any("Lineage of" in r and "flywheel-optimize" in r for r in reports)
    first, last = demo["quality_trend"]["first"], demo["quality_trend"]["last"]
    assert last["ups"] / last["thumbs"] > first["ups"] / first["thumbs"]

    files = sorted((work / "prompts").rglob("generated-*.yaml"))
    with DemoModelServer() as model:  # the optimizer's endpoint, as during the demo
        again = flywheel(*db, "nightly", "--date", "2026-11-02", cwd=tmp_path,
                         env={"OPENAI_BASE_URL": model.base_url})["nights"][0]
    assert again["ok"] and again["summary"]["optimize"]["proposed"] == 0
    assert sorted((work / "prompts").rglob("generated-*.yaml")) == files
    assert flywheel(*db, "prompts", "history", "support", cwd=tmp_path)["moves"] == moves
