"""REJECT from the offline eval: a candidate whose answers (from flywheel's demo model) fail
the support eval set's assertions is rejected, with the demo model named in the report."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from flywheel.tasks.demo_model import DemoModelServer
from flywheel.tasks.errors import FlywheelError
from flywheel.tasks.reports import build_night
from tests.support.report_support import (
    REPO,
    START,
    copy_evalset,
    eval_on_demo_model,
    place_label,
    project,
    register,
    repo_prompt,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoModelServer]:
    with DemoModelServer() as server:
        yield server


def test_a_candidate_worse_offline_is_rejected(tmp_path: Path, demo: DemoModelServer,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-0123456789")
    settings = project(tmp_path, openai_base_url=demo.base_url)
    production = repo_prompt("support/v1.yaml")
    # No "Customer question:" line: the demo model cannot look the question up and echoes it.
    worse = {**production, "description": "a terse rewrite",
             "template": "Reply to: {{ question }}{% if order_id is defined %} "
                         "(order {{ order_id }}){% endif %}"}
    v1, bad = register(settings, [production, worse])
    place_label(settings, "support", "production", v1, START)
    place_label(settings, "support", "candidate", bad, START)
    summary = eval_on_demo_model(settings, copy_evalset(tmp_path),
                                 ["support@production", "support@candidate"])
    comparison = summary["comparisons"][0]
    assert summary["demo_model"] and comparison["pass_rate_diff"] < -0.2

    result = build_night(settings, date(2026, 11, 10))
    [report] = result["prompts"]
    assert (report["decision"], report["rule"]) == ("REJECT", "reject.offline_regression")
    assert report["subject"]["hash"] == bad.hash and report["command"] is None
    assert f"pass rate {comparison['baseline_pass_rate'] * 100:.1f}% → " in report["summary"]
    html = Path(report["html"]).read_text()
    assert 'data-decision="REJECT"' in html and 'data-demo-model="true"' in html
    assert "flywheel&#39;s demo model" in html
    # regressions with both outputs side by side
    first = comparison["regressions"][0]
    assert first["case_id"] in html and "Reply to: " in html
    markdown = Path(report["md"]).read_text()
    assert "**Demo model:**" in markdown and "## ✖ REJECT" in markdown


def test_a_night_the_ab_analysis_did_not_store_is_an_error_not_a_silent_hold(
        tmp_path: Path) -> None:
    settings = project(tmp_path)
    (v1,) = register(settings, [repo_prompt("support/v1.yaml")])
    place_label(settings, "support", "production", v1, START)
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "tone-test.yaml").write_text(
        (REPO / "experiments" / "tone-test.yaml").read_text())
    with pytest.raises(FlywheelError, match="no A/B results stored for the night of 2026-11-10"):
        build_night(settings, date(2026, 11, 10))
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").rglob("*.html"))
