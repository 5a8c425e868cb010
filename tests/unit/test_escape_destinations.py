"""Issue 23, item 5: hostile text from the logs and eval sets escaped for each place it is shown:
the alert webhook (Slack's message format), the terminal (`flywheel prompts links`), the Prefect
Markdown artifacts (A/B summary, offline eval). Inputs: tests/fixtures/issue23/hostile_text.json."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from flywheel.tasks.ab import markdown_summary
from flywheel.tasks.evals._report import format_summary
from flywheel.tasks.monitor import Alert, alert_text, post_text
from flywheel.tasks.registry import describe_links
from tests.support.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.unit

HOSTILE: dict[str, str] = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "issue23" / "hostile_text.json")
    .read_text(encoding="utf-8"))


def _alert(message: str) -> Alert:
    return Alert(date(2026, 11, 3), "support", "a" * 64, "gpt-4o-mini", "drift", "critical",
                 "latency_p95_ms", 1.0, 0.5, 0.0, 0.8, message)


def test_the_webhook_posts_slack_control_sequences_as_text() -> None:
    text = alert_text(date(2026, 11, 3), [_alert(HOSTILE["slack"])])
    with webhook_receiver() as receiver:
        assert post_text(receiver.url, text)["sent"]
    posted = receiver.bodies[0]["text"]
    assert "<" not in posted and ">" not in posted  # no <!channel>, no <url|text> link
    assert "&lt;!channel&gt;" in posted and "&lt;https://phish.example/login|open" in posted
    assert "&amp; &lt;@U024BE7LH&gt;" in posted  # & first, so nothing is escaped twice


def test_prompts_links_prints_no_terminal_escape_sequence() -> None:
    report = {"requests": 3, "resolved": 0, "unknown": 3, "ambiguous": 0, "no_hash": 0,
              "name_mismatch": 0,
              "unlinked": [{"link_status": "unknown", "logged_hash": HOSTILE["terminal"],
                            "requests": 3, "prompt_names": [HOSTILE["terminal"]],
                            "example_request_ids": [HOSTILE["terminal"]]}]}
    text = describe_links(report)
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f for c in text)
    assert "\\x1b]8;;https://phish.example\\x07click" in text  # shown, not acted on


def _active(markdown: str) -> list[str]:
    """What a Markdown renderer would turn into HTML or a link: raw HTML, links, images."""
    found = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        for t in [token, *(token.children or [])]:
            if t.type in ("html_inline", "html_block", "link_open", "image"):
                found.append(t.type)
    return found


def test_the_ab_artifact_shows_hostile_arm_and_experiment_names_as_text() -> None:
    name = HOSTILE["markdown"]
    report: dict[str, Any] = {
        "date": "2026-11-03", "experiments": [],
        "unfiled_experiments": [{"name": name, "requests": 2, "arms": [
            {"variant": name, "users": 1, "requests": 2}]}]}
    markdown = markdown_summary(report)
    assert _active(markdown) == []
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown


def test_the_offline_eval_artifact_shows_hostile_outputs_and_tags_as_text() -> None:
    bad = HOSTILE["markdown"]
    version = {"ref": "support@production", "name": "support", "hash": "a" * 64,
               "short": "a" * 12, "pass_rate": 0.5, "pass_rate_ci": [0.1, 0.9],
               "mean_score": 0.5, "mean_score_ci": [0.1, 0.9], "cases_errored": 0,
               "consistency": None, "cost_usd": None, "prompt_tokens": 1,
               "completion_tokens": 1}
    summary = _eval_summary(bad, version)
    markdown = format_summary(summary)
    assert _active(markdown) == [], markdown
    assert "<img" not in markdown


def _eval_summary(bad: str, version: dict[str, Any]) -> dict[str, Any]:
    flip = {"case_id": bad, "baseline_output": bad, "candidate_output": bad}
    comparison = {"candidate": "support@candidate", "baseline": "support@production",
                  "paired_cases": 2, "unpaired_cases": 0, "pass_rate_diff": 0.0,
                  "pass_rate_diff_ci": [0.0, 0.0], "mean_score_diff": 0.0,
                  "mean_score_diff_ci": [0.0, 0.0],
                  "mcnemar": {"p_value": 1.0, "regressions": 1, "improvements": 1},
                  "by_tag": [{"tag": bad, "paired_cases": 2, "baseline_pass_rate": 0.5,
                              "candidate_pass_rate": 0.5, "pass_rate_diff": 0.0,
                              "pass_rate_diff_ci": [0.0, 0.0], "mcnemar": {"p_value": 1.0}}],
                  "regressions": [flip], "improvements": [flip]}
    return {"run_id": "eval-x", "evalset": {"name": "support", "cases": 2, "hash": "b" * 64,
                                            "path": "evalsets/support.jsonl"},
            "repeats": 1, "versions": [version, version], "comparisons": [comparison],
            "calls": {"total": 4, "cached": 0, "http_attempts": 4, "errored": 0},
            "errors": {"api": 0, "scorer": 0}}
