"""The gate's verdict, JUnit XML and Markdown summary on hand-made case outcomes (with hostile
model outputs: control characters, XML, Markdown, backtick fences), and the eval summary's
pass^k and cluster-bootstrap lines with repeats."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from markdown_it import MarkdownIt

from flywheel.tasks.evals import GateOptions, gate_markdown, gate_verdict, junit_xml
from flywheel.tasks.evals._calibration import JudgeCheck
from flywheel.tasks.evals._compare import CaseOutcome

pytestmark = pytest.mark.unit
HOSTILE = "</failure>\x00\x1b[31m ``` <script>alert(1)</script> | **bold** [x](http://evil)"


def outcome(cid: str, passes: int, scored: int = 1, output: str = "ok") -> CaseOutcome:
    return CaseOutcome(cid, ("billing",), scored, scored, passes, passes == scored,
                       passes / scored, output, None)


def cases(n: int, failing: set[int], output: str = "ok") -> dict[str, CaseOutcome]:
    return {f"c{i:02d}": outcome(f"c{i:02d}", 0 if i in failing else 1, output=output)
            for i in range(n)}


def result(base: dict[str, CaseOutcome], cand: dict[str, CaseOutcome], **kw: object) -> dict:
    r = gate_verdict(base, cand, GateOptions(**kw))  # type: ignore[arg-type]
    return {"run_id": "eval-x", "evalset": "support", "baseline": "s@production",
            "candidate": "s:abc", "repeats": 1, **r}


def test_a_significant_regression_fails_and_an_equal_candidate_passes() -> None:
    base = cases(20, set())
    assert result(base, cases(20, set(range(8))))["verdict"] == "fail"
    assert result(base, cases(20, set()))["verdict"] == "pass"
    # one regression of 20: not significant, but over a 2-point margin
    small = result(base, cases(20, {3}), max_drop_pts=2.0)
    assert small["verdict"] == "fail" and "exceeds --max-drop" in small["reasons"][0]
    assert result(base, cases(20, {3}))["verdict"] == "pass"


def test_an_uncalibrated_judge_holds_the_gate() -> None:
    r = gate_verdict(cases(5, set()), cases(5, set()), GateOptions(),
                     [JudgeCheck("Says 'refund'", 0.3, 0.6, 50)])
    assert r["verdict"] == "held" and "judge not calibrated" in r["reasons"][0]


def test_repeats_are_compared_as_clusters_of_a_case() -> None:
    base = {f"c{i}": outcome(f"c{i}", 3, 3) for i in range(10)}
    cand = {f"c{i}": outcome(f"c{i}", 2, 3) for i in range(10)}  # every case flaky
    r = result(base, cand)
    assert r["comparison"]["pass_share_diff"] == pytest.approx(-1 / 3, abs=1e-6)
    # every case moved by the same amount: the cluster bootstrap interval is a point
    assert r["comparison"]["pass_share_diff_ci"] == [pytest.approx(-1 / 3, abs=1e-6)] * 2
    assert all(c["candidate_flaky"] for c in r["cases"])


def test_junit_and_markdown_carry_hostile_outputs_safely() -> None:
    r = result(cases(10, set(), output=HOSTILE), cases(10, {1, 2}, output=HOSTILE + " `x`"))
    root = ET.fromstring(junit_xml(r).encode())
    suite = root.find("testsuite")
    assert suite is not None
    failed = [tc.get("name") for tc in suite.iter("testcase")
              if tc.find("failure") is not None and tc.get("classname") != "flywheel.gate"]
    assert failed == ["c01", "c02"]
    text = (suite.find("testcase[@name='c01']/failure").text or "")  # type: ignore[union-attr]
    assert "</failure>" in text and "\x00" not in text
    summary = gate_markdown(r)
    html = MarkdownIt("commonmark").render(summary)
    assert "<script>" not in html and 'href="http://evil"' not in html
    assert "<strong>bold</strong>" not in html


def test_the_eval_summary_shows_pass_hat_k_and_the_cluster_difference_with_repeats() -> None:
    from flywheel.tasks.evals import format_summary

    base = {f"c{i}": outcome(f"c{i}", 3, 3) for i in range(4)}
    cand = {f"c{i}": outcome(f"c{i}", 2, 3) for i in range(4)}
    comp = gate_verdict(base, cand, GateOptions())["comparison"]
    version = {"ref": "s:abc", "short": "abc", "pass_rate": 0.0, "pass_rate_ci": [0, 0.5],
               "mean_score": 0.6, "mean_score_ci": [0.5, 0.7], "cases_errored": 0,
               "consistency": 0.67, "prompt_tokens": 1, "completion_tokens": 1,
               "cost_usd": None, "pass_hat_k": {"1": 2 / 3, "2": 1 / 3, "3": 0.0},
               "flaky_count": 4}
    summary = {"run_id": "r", "evalset": {"name": "x", "cases": 4, "hash": "ab" * 32},
               "repeats": 3, "calls": {"total": 1, "cached": 0, "http_attempts": 1,
                                       "errored": 0}, "errors": {"api": 0, "scorer": 0},
               "versions": [version], "comparisons": [{"baseline": "b", "candidate": "s:abc",
                                                       "unpaired_cases": 0, **comp}]}
    text = format_summary(summary)
    assert "pass^k k=1 66.7%, k=2 33.3%, k=3 0.0%; 4 flaky case(s)" in text
    assert "Pass share (the share of a case's repeats that pass) difference -0.333" in text
    assert format_summary({**summary, "repeats": 1}).count("pass^k") == 0
